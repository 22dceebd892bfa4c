import { describe, expect, it } from 'vitest';
import type { AuditSink } from './sink.js';
import { elidingListResponses } from './stream-sink.js';
import { sampleEvent } from './testing.js';
import type { AuditEvent } from './types.js';

describe("Vault's elide_list_responses", () => {
  const recording = () => {
    const seen: AuditEvent[] = [];
    const sink: AuditSink = {
      append: async (e) => void seen.push(e),
      appendAll: async (es) => void seen.push(...es),
      depth: () => 0,
      reopen: async () => undefined,
      close: async () => undefined,
    };
    return { seen, sink };
  };

  it("replaces a list response's keys by their count on this device only, leaving other entries and the shared event alone", async () => {
    const { seen, sink } = recording();
    const list = sampleEvent(1, {
      type: 'response',
      request: { id: 'r', operation: 'list', path: 'secret/metadata/' },
      response: { status: 200, data: { keys: ['hmac-sha256:a', 'hmac-sha256:b', 'hmac-sha256:c'] } },
    });
    const read = sampleEvent(2, {
      type: 'response',
      request: { id: 'q', operation: 'read', path: 'x' },
      response: { status: 200, data: { keys: ['k'] } },
    });
    await elidingListResponses(sink).appendAll([list, read]);
    expect(seen[0]!.response!.data).toEqual({ keys: 3 });
    expect(seen[1]).toBe(read);
    expect(list.response!.data!.keys).toHaveLength(3); // the event other devices receive is unchanged
  });
});
