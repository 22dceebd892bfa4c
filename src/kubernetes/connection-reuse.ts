/**
 * @kubernetes/client-node builds a new http(s).Agent for every request, so every API call opens a new TCP (and TLS)
 * connection: at thousands of reconciles that is most of the operator's work and the API server's too. This reuses
 * one keep-alive agent per cluster and credentials, as client-go's shared transport does.
 */
import { createHash } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

interface ClusterLike {
  server?: string;
  skipTLSVerify?: boolean;
  proxyUrl?: string;
}
type CreateAgent = (cluster: ClusterLike | null, agentOptions: AgentOptions) => HttpAgent;

/** At most this many distinct agents (credentials rotate; the oldest is dropped). */
const MAX_AGENTS = 8;

export function reuseConnections(kc: KubeConfig, options: { maxSockets?: number } = {}): KubeConfig {
  const target = kc as unknown as { createAgent?: CreateAgent };
  const original = target.createAgent?.bind(kc);
  // The hook is the library's private method: if a release renames it, fall back to its own behaviour.
  if (typeof original !== 'function') return kc;
  const agents = new Map<string, HttpAgent>();
  target.createAgent = (cluster, agentOptions) => {
    // Proxies get their own agents from the library, unchanged.
    if (!cluster || cluster.proxyUrl) return original(cluster, agentOptions);
    const key = createHash('sha256')
      .update(JSON.stringify([cluster.server, cluster.skipTLSVerify ?? false, agentOptions]))
      .digest('hex');
    const hit = agents.get(key);
    if (hit) return hit;
    // Let the library decide http vs https and refuse what it refuses (plain http without skipTLSVerify).
    const probe = original(cluster, agentOptions);
    probe.destroy();
    const settings = { ...agentOptions, keepAlive: true, maxSockets: options.maxSockets ?? 128 };
    const agent = probe instanceof HttpsAgent ? new HttpsAgent(settings) : new HttpAgent(settings);
    if (agents.size >= MAX_AGENTS) {
      const [oldestKey, oldest] = agents.entries().next().value as [string, HttpAgent];
      agents.delete(oldestKey);
      oldest.destroy();
    }
    agents.set(key, agent);
    return agent;
  };
  return kc;
}
