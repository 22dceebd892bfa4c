import fc from 'fast-check';
import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAttributes, parseFileMode, parseObjects, podToken, validateObjectName } from './attributes.js';

const attrs = (extra: Record<string, string> = {}) =>
  JSON.stringify({
    roleName: 'app',
    objects: '- objectName: db-password\n  secretPath: secret/data/db\n  secretKey: password\n',
    'csi.storage.k8s.io/pod.name': 'web-0',
    'csi.storage.k8s.io/pod.namespace': 'shop',
    'csi.storage.k8s.io/serviceAccount.name': 'web',
    'csi.storage.k8s.io/serviceAccount.tokens': JSON.stringify({
      strongroom: { token: 'jwt-a', expirationTimestamp: '2030-01-01T00:00:00Z' },
    }),
    ...extra,
  });

describe('csi attributes', () => {
  it('parses Vault CSI provider parameters and pod identity', () => {
    const p = parseAttributes(attrs({ vaultKubernetesMountPath: 'auth/k8s-prod/', audience: 'strongroom' }));
    expect(p).toMatchObject({
      roleName: 'app',
      vaultKubernetesMountPath: 'k8s-prod',
      audience: 'strongroom',
      pod: { name: 'web-0', namespace: 'shop', serviceAccountName: 'web' },
    });
    expect(p.objects).toEqual([
      {
        objectName: 'db-password',
        secretPath: 'secret/data/db',
        secretKey: 'password',
        secretArgs: {},
        encoding: 'utf-8',
        method: 'GET',
      },
    ]);
    expect(podToken(p)).toBe('jwt-a');
    expect(parseAttributes(attrs()).vaultKubernetesMountPath).toBe('kubernetes');
  });

  it('parses object options: permission, encoding, method, args, pinned version', () => {
    const [o] = parseObjects(
      '- objectName: certs/tls.key\n  secretPath: /v1/secret/data/tls\n  secretKey: key\n  filePermission: "0600"\n  encoding: base64\n  method: POST\n  secretArgs: {a: 1}\n  version: 3\n',
    );
    expect(o).toEqual({
      objectName: 'certs/tls.key',
      secretPath: 'secret/data/tls',
      secretKey: 'key',
      filePermission: 0o600,
      encoding: 'base64',
      method: 'POST',
      secretArgs: { a: 1 },
      version: 3,
    });
  });

  it('rejects bad parameters with messages that name the problem', () => {
    expect(() => parseAttributes('{')).toThrow(/not valid JSON/);
    expect(() => parseAttributes(JSON.stringify({ objects: '- objectName: a\n  secretPath: s' }))).toThrow(/roleName/);
    expect(() => parseObjects('objectName: a')).toThrow(/non-empty YAML list/);
    expect(() => parseObjects('- objectName: a')).toThrow(/secretPath is required/);
    expect(() => parseObjects('- {objectName: a, secretPath: s, encoding: rot13}')).toThrow(/encoding/);
    expect(() => parseObjects('- {objectName: a, secretPath: s}\n- {objectName: a, secretPath: t}')).toThrow(
      /appears twice/,
    );
    expect(() => parseObjects('- {objectName: a, secretPath: s}\n- {objectName: a/b, secretPath: t}')).toThrow(
      /both a file and a directory/,
    );
    expect(() => parseObjects('- {objectName: a, secretPath: s, version: 0}')).toThrow(/positive integer/);
    expect(() => parseFileMode('0999', 'filePermission')).toThrow(/octal/);
    expect(() => podToken(parseAttributes(attrs({ audience: 'other' })))).toThrow(/tokenRequests/);
    expect(() => podToken(parseAttributes(attrs({ 'csi.storage.k8s.io/serviceAccount.tokens': '' })))).toThrow(
      /tokenRequests/,
    );
  });

  it('rejects a secretPath that a URL parser or server would resolve elsewhere (encoded dots, separators)', () => {
    const dots = ['.', '%2e', '%2E', '%252e', '%%32e'];
    fc.assert(
      fc.property(
        fc.constantFrom(...dots),
        fc.constantFrom(...dots),
        fc.constantFrom('', 'secret/data/', 'secret/data/a/'),
        (a, b, prefix) => {
          const path = `${prefix}${a}${b}/sys/raw`;
          expect(() => parseObjects(`- {objectName: a, secretPath: "${path}"}`), path).toThrow(
            /secretPath must not contain/,
          );
        },
      ),
    );
    for (const path of [
      'secret/data/a%2fb',
      'secret/data/a%5c..%5cb',
      'secret/data\\..\\x',
      'secret/data/.\t./x',
      'secret/data/a#b',
    ]) {
      expect(() => parseObjects(`- {objectName: a, secretPath: '${path}'}`), path).toThrow(
        /secretPath must not contain/,
      );
    }
    expect(parseObjects('- {objectName: a, secretPath: "secret/data/a..b/%41"}')[0]!.secretPath).toBe(
      'secret/data/a..b/%41',
    );
  });

  it('rejects every objectName that would escape the volume', () => {
    for (const name of [
      '../etc/passwd',
      '/etc/passwd',
      'a/../../b',
      'a/./b',
      'a//b',
      '..',
      '.',
      'a\\..\\b',
      'x\u0000y',
      '',
    ]) {
      expect(() => validateObjectName(name), JSON.stringify(name)).toThrow();
    }
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '.', '/', '\\', 'b') }), (name) => {
        let accepted = true;
        try {
          validateObjectName(name);
        } catch {
          accepted = false;
        }
        if (accepted) {
          // Whatever is accepted resolves to a path strictly inside the volume.
          const resolved = posix.resolve('/volume', name);
          expect(resolved.startsWith('/volume/')).toBe(true);
          expect(posix.normalize(name)).toBe(name);
        }
      }),
    );
  });
});
