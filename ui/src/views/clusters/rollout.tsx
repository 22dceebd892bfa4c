import type { Rollout } from './model.js';

const PHASE_BADGE: Record<string, string> = {
  Succeeded: 'badge-success',
  Failed: 'badge-danger',
  RolledBack: 'badge-danger',
  Aborted: 'badge-danger',
  RollingBack: 'badge-warning',
  Paused: 'badge-warning',
};

/** A rollout: phase, versions, and each wave with its workloads and their state. */
export function RolloutView({ rollout }: { rollout: Rollout | undefined }) {
  if (!rollout) return <span className="muted">No rollout yet</span>;
  const pauseAsked = rollout.paused && rollout.phase !== 'Paused';
  return (
    <div>
      <span className={`badge ${PHASE_BADGE[rollout.phase] ?? ''}`}>{rollout.phase}</span>
      {pauseAsked ? <span className="badge badge-warning"> pause requested</span> : null}{' '}
      <span>
        version {rollout.previous_version ? `${rollout.previous_version} → ` : ''}
        {rollout.target_version}
      </span>
      {rollout.message ? <div className="muted">{rollout.message}</div> : null}
      {rollout.waves.length > 0 ? (
        <ol className="clusters-waves" aria-label="Waves">
          {rollout.waves.map((wave, index) => (
            <li
              key={wave.name}
              className={
                index === rollout.current_wave && rollout.phase !== 'Succeeded' ? 'clusters-current' : undefined
              }
            >
              {wave.name}:{' '}
              {wave.workloads.length === 0
                ? 'no workloads'
                : wave.workloads
                    .map((w) => `${w.kind} ${w.name} ${w.state}${w.version ? ` (v${w.version})` : ''}`)
                    .join(', ')}
            </li>
          ))}
        </ol>
      ) : null}
    </div>
  );
}
