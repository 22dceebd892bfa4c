/**
 * Add-ons a cluster has installed before `deploy/` is applied, as CustomResourceDefinitions with the names, scope,
 * versions, printer columns and field types their projects publish: cert-manager (Certificate, Issuer,
 * ClusterIssuer — deploy/tls needs them) and the Secrets Store CSI Driver (SecretProviderClass — deploy/csi's
 * sample needs it). The schemas are a subset: every field listed has the upstream type, required fields and enums;
 * issuer kinds this project does not use (acme, vault, venafi) keep their objects without a schema. No controller
 * runs: a Certificate is stored, not issued.
 */
import type { Obj } from './registry.js';
import type { Schema } from './schema.js';

export type Addon = 'cert-manager' | 'secrets-store-csi-driver';

const str: Schema = { type: 'string' };
const strings: Schema = { type: 'array', items: str };
const stringMap: Schema = { type: 'object', additionalProperties: str };
const opaque: Schema = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
const conditions: Schema = {
  type: 'array',
  items: {
    type: 'object',
    required: ['status', 'type'],
    properties: {
      type: str,
      status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
      reason: str,
      message: str,
      lastTransitionTime: { type: 'string', format: 'date-time' },
      observedGeneration: { type: 'integer', format: 'int64' },
    },
  },
};
const age = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };
const ready = { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type == "Ready")].status' };
const readyMessage = {
  name: 'Status',
  type: 'string',
  priority: 1,
  jsonPath: '.status.conditions[?(@.type == "Ready")].message',
};

function crd(
  group: string,
  kind: string,
  plural: string,
  scope: 'Namespaced' | 'Cluster',
  versions: { name: string; storage: boolean; spec: Schema; status?: Schema; columns?: object[] }[],
  names: { shortNames?: string[]; categories?: string[] } = {},
): Obj {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope,
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase(), ...names },
      versions: versions.map((v) => ({
        name: v.name,
        served: true,
        storage: v.storage,
        ...(v.status ? { subresources: { status: {} } } : {}),
        ...(v.columns ? { additionalPrinterColumns: v.columns } : {}),
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              apiVersion: str,
              kind: str,
              metadata: { type: 'object' },
              spec: v.spec,
              ...(v.status ? { status: v.status } : {}),
            },
          },
        },
      })),
    },
  };
}

const KEY_USAGES = [
  'signing',
  'digital signature',
  'content commitment',
  'key encipherment',
  'key agreement',
  'data encipherment',
  'cert sign',
  'crl sign',
  'encipher only',
  'decipher only',
  'any',
  'server auth',
  'client auth',
  'code signing',
  'email protection',
  's/mime',
  'ipsec end system',
  'ipsec tunnel',
  'ipsec user',
  'timestamping',
  'ocsp signing',
  'microsoft sgc',
  'netscape sgc',
];

const certificateSpec: Schema = {
  type: 'object',
  required: ['issuerRef', 'secretName'],
  properties: {
    secretName: str,
    secretTemplate: { type: 'object', properties: { annotations: stringMap, labels: stringMap } },
    commonName: str,
    dnsNames: strings,
    ipAddresses: strings,
    uris: strings,
    emailAddresses: strings,
    isCA: { type: 'boolean' },
    duration: str,
    renewBefore: str,
    renewBeforePercentage: { type: 'integer', format: 'int32' },
    revisionHistoryLimit: { type: 'integer', format: 'int32' },
    usages: { type: 'array', items: { type: 'string', enum: KEY_USAGES } },
    encodeUsagesInRequest: { type: 'boolean' },
    subject: {
      type: 'object',
      properties: {
        countries: strings,
        localities: strings,
        organizationalUnits: strings,
        organizations: strings,
        postalCodes: strings,
        provinces: strings,
        serialNumber: str,
        streetAddresses: strings,
      },
    },
    literalSubject: str,
    privateKey: {
      type: 'object',
      properties: {
        algorithm: { type: 'string', enum: ['RSA', 'ECDSA', 'Ed25519'] },
        encoding: { type: 'string', enum: ['PKCS1', 'PKCS8'] },
        rotationPolicy: { type: 'string', enum: ['Never', 'Always'] },
        size: { type: 'integer' },
      },
    },
    issuerRef: {
      type: 'object',
      required: ['name'],
      properties: { group: str, kind: str, name: str },
    },
    keystores: opaque,
    additionalOutputFormats: {
      type: 'array',
      items: {
        type: 'object',
        required: ['type'],
        properties: { type: { type: 'string', enum: ['DER', 'CombinedPEM'] } },
      },
    },
  },
};

const certificateStatus: Schema = {
  type: 'object',
  properties: {
    conditions,
    notAfter: { type: 'string', format: 'date-time' },
    notBefore: { type: 'string', format: 'date-time' },
    renewalTime: { type: 'string', format: 'date-time' },
    revision: { type: 'integer' },
    nextPrivateKeySecretName: str,
    failedIssuanceAttempts: { type: 'integer' },
    lastFailureTime: { type: 'string', format: 'date-time' },
  },
};

const issuerSpec: Schema = {
  type: 'object',
  properties: {
    selfSigned: { type: 'object', properties: { crlDistributionPoints: strings } },
    ca: {
      type: 'object',
      required: ['secretName'],
      properties: {
        secretName: str,
        crlDistributionPoints: strings,
        issuingCertificateURLs: strings,
        ocspServers: strings,
      },
    },
    acme: opaque,
    vault: opaque,
    venafi: opaque,
  },
};

const issuerStatus: Schema = { type: 'object', properties: { conditions, acme: opaque } };

function certManager(): Obj[] {
  const categories = ['cert-manager'];
  const group = 'cert-manager.io';
  return [
    crd(
      group,
      'Certificate',
      'certificates',
      'Namespaced',
      [
        {
          name: 'v1',
          storage: true,
          spec: certificateSpec,
          status: certificateStatus,
          columns: [
            ready,
            { name: 'Secret', type: 'string', jsonPath: '.spec.secretName' },
            { name: 'Issuer', type: 'string', priority: 1, jsonPath: '.spec.issuerRef.name' },
            readyMessage,
            age,
          ],
        },
      ],
      { shortNames: ['cert', 'certs'], categories },
    ),
    crd(
      group,
      'Issuer',
      'issuers',
      'Namespaced',
      [{ name: 'v1', storage: true, spec: issuerSpec, status: issuerStatus, columns: [ready, readyMessage, age] }],
      { categories },
    ),
    crd(
      group,
      'ClusterIssuer',
      'clusterissuers',
      'Cluster',
      [{ name: 'v1', storage: true, spec: issuerSpec, status: issuerStatus, columns: [ready, readyMessage, age] }],
      { categories },
    ),
  ];
}

function secretsStoreCsiDriver(): Obj[] {
  const spec: Schema = {
    type: 'object',
    properties: {
      provider: str,
      parameters: stringMap,
      secretObjects: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            secretName: str,
            type: str,
            labels: stringMap,
            annotations: stringMap,
            data: { type: 'array', items: { type: 'object', properties: { key: str, objectName: str } } },
          },
        },
      },
    },
  };
  const status: Schema = {
    type: 'object',
    properties: {
      byPod: { type: 'array', items: { type: 'object', properties: { id: str, namespace: str } } },
    },
  };
  return [
    crd('secrets-store.csi.x-k8s.io', 'SecretProviderClass', 'secretproviderclasses', 'Namespaced', [
      { name: 'v1', storage: true, spec, status },
      { name: 'v1alpha1', storage: false, spec, status },
    ]),
  ];
}

/** The CustomResourceDefinitions each add-on's own installation creates. */
export function addonCrds(addon: Addon): Obj[] {
  return addon === 'cert-manager' ? certManager() : secretsStoreCsiDriver();
}
