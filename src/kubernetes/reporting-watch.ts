/** A client-node Watch that says when a watch is up: what informers report to the operator's `/readyz`. */
import { Watch, type KubeConfig } from '@kubernetes/client-node';

/**
 * A Watch that tells when a watch request was answered 200 and is streaming. Watch.watch reports a refused or
 * failed request through `done` before it returns, so "returned without done" means the watch is up.
 */
export class ReportingWatch extends Watch {
  constructor(
    config: KubeConfig,
    private readonly onWatching: () => void,
  ) {
    super(config);
  }

  override async watch(...[path, query, callback, done]: Parameters<Watch['watch']>): Promise<AbortController> {
    let ended = false;
    const controller = await super.watch(path, query, callback, (err) => {
      ended = true;
      done(err);
    });
    if (!ended) this.onWatching();
    return controller;
  }
}
