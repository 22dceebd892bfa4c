/**
 * Asking the rollout controller for something: the control annotations people set on an ExternalSecret, each
 * request once. One code path for `strongroom rollout pause|resume|abort|retry|undo` (src/cli/rollout-run.ts) and
 * for the controls queued in the console, which the operator's publisher applies (src/kubernetes/publisher/).
 */
import { randomBytes } from 'node:crypto';
import type { CustomObjectsApi } from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { GROUP, VERSION } from '../api/common.js';
import type { Json } from './cluster.js';
import { readRollout } from './record.js';
import { ABORT_ANNOTATION, PAUSE_ANNOTATION, RETRY_ANNOTATION, UNDO_ANNOTATION } from './types.js';

export type RolloutControl = 'pause' | 'resume' | 'abort' | 'retry' | 'undo';

/** The request makes no sense for the rollout as it stands (nothing to abort, a rollout in progress for undo...). */
export class RolloutControlRefused extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'RolloutControlRefused';
  }
}

const ES = { group: GROUP, version: VERSION, plural: 'externalsecrets' };
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const newRequestId = () => `${new Date().toISOString()}-${randomBytes(3).toString('hex')}`;

/** The rule the engine applies to an undo annotation's version (controls.ts). */
export const isRolloutVersion = (version: string): boolean => /^[A-Za-z0-9@._:-]+$/.test(version);

export interface ControlOptions {
  /** undo: the store version to roll out. */
  toVersion?: string;
  /**
   * Names this request in the annotation's value (abort, retry, undo). The controller acts once per value, so
   * setting the same id twice (an operator applying a console control again after a restart) asks only once.
   * Default: a fresh time-stamped id.
   */
  requestId?: string;
}

/** The annotation a control sets, and the check against the current rollout that makes the request sensible. */
export function controlRequest(
  name: RolloutControl,
  options: ControlOptions = {},
): { annotation: string; value: string | null; check?: (es: Json) => void } {
  const requestId = options.requestId ?? newRequestId();
  const phaseOf = (es: Json) => readRollout(es)?.phase;
  switch (name) {
    case 'pause':
      return { annotation: PAUSE_ANNOTATION, value: 'true' };
    case 'resume':
      return { annotation: PAUSE_ANNOTATION, value: null };
    case 'abort':
      return {
        annotation: ABORT_ANNOTATION,
        value: requestId,
        check: (es) => {
          const phase = phaseOf(es);
          if (!phase || !['Preparing', 'Progressing', 'Paused'].includes(phase))
            throw new RolloutControlRefused(`there is no rollout in progress to abort (phase ${phase ?? 'none'})`);
        },
      };
    case 'retry':
      return {
        annotation: RETRY_ANNOTATION,
        value: requestId,
        check: (es) => {
          const phase = phaseOf(es);
          if (!phase || !['RolledBack', 'Aborted', 'Failed'].includes(phase))
            throw new RolloutControlRefused(
              `only a rolled back, aborted or failed rollout can be retried (phase ${phase ?? 'none'})`,
            );
        },
      };
    case 'undo': {
      const version = options.toVersion ?? '';
      if (!isRolloutVersion(version)) throw new RolloutControlRefused(`"${version.slice(0, 64)}" is not a version`);
      return {
        annotation: UNDO_ANNOTATION,
        value: `${version}/${requestId}`,
        check: (es) => {
          const phase = phaseOf(es);
          if (phase && ['Preparing', 'Progressing', 'Paused', 'RollingBack'].includes(phase))
            throw new RolloutControlRefused(
              `a rollout is in progress (phase ${phase})`,
              "'strongroom rollout abort' first",
            );
        },
      };
    }
  }
}

/**
 * Reads the ExternalSecret, checks the request against its rollout, and sets the annotation with a merge patch.
 * Kubernetes errors go through `kubeError` (the CLI words them for people); refusals throw RolloutControlRefused.
 */
export async function requestRolloutControl(
  custom: CustomObjectsApi,
  ref: { namespace: string; name: string },
  name: RolloutControl,
  options: ControlOptions & { kubeError?: (err: unknown, what: string) => Error } = {},
): Promise<{ annotation: string; value: string | null }> {
  const what = `ExternalSecret ${ref.namespace}/${ref.name}`;
  const wrap = (err: unknown) => (options.kubeError ? options.kubeError(err, what) : err);
  const { annotation, value, check } = controlRequest(name, options);
  let es: Json;
  try {
    es = await custom.getNamespacedCustomObject({ ...ES, ...ref });
  } catch (err) {
    throw wrap(err);
  }
  check?.(es);
  try {
    await custom.patchNamespacedCustomObject(
      { ...ES, ...ref, body: { metadata: { annotations: { [annotation]: value } } } },
      merge,
    );
  } catch (err) {
    throw wrap(err);
  }
  return { annotation, value };
}
