import { invalid } from '../shared/errors.js';

/**
 * IPv4/IPv6 CIDR parsing and matching over raw bytes. Strict on input (no octal-looking "010", no stray
 * characters, one "::" at most) because a lenient parser is where address-binding bypasses come from.
 * IPv4-mapped IPv6 addresses (::ffff:10.0.0.1, what a dual-stack socket reports for IPv4 clients) are matched
 * as the IPv4 address they carry.
 */
export interface Cidr {
  family: 4 | 6;
  /** Network address with host bits cleared. */
  network: Uint8Array;
  prefix: number;
}

export function parseIp(text: string): Uint8Array | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > 64) return undefined;
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i] as string;
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    bytes[i] = value;
  }
  return bytes;
}

function parseIpv6(text: string): Uint8Array | undefined {
  let rest = text;
  let tail: Uint8Array | undefined;
  // A trailing dotted quad fills the last two groups (::ffff:1.2.3.4, 64:ff9b::1.2.3.4).
  const lastColon = rest.lastIndexOf(':');
  if (rest.slice(lastColon + 1).includes('.')) {
    tail = parseIpv4(rest.slice(lastColon + 1));
    if (!tail) return undefined;
    rest = `${rest.slice(0, lastColon + 1)}0:0`;
  }
  const halves = rest.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (half: string): number[] | undefined => {
    if (half === '') return [];
    const groups: number[] = [];
    for (const group of half.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
      groups.push(parseInt(group, 16));
    }
    return groups;
  };
  const head = groupsOf(halves[0] as string);
  const back = halves.length === 2 ? groupsOf(halves[1] as string) : [];
  if (!head || !back) return undefined;
  const missing = 8 - head.length - back.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...back];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  if (tail) bytes.set(tail, 12);
  return bytes;
}

/** Parses "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128). Host bits are cleared, as Go does. */
export function parseCidr(text: string): Cidr {
  if (typeof text !== 'string') throw invalid('a CIDR block must be a string');
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const address = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const bytes = parseIp(address);
  if (!bytes) throw invalid(`"${trimmed.slice(0, 64)}" is not a valid CIDR block`);
  const bits = bytes.length * 8;
  let prefix = bits;
  if (slash >= 0) {
    const prefixText = trimmed.slice(slash + 1);
    if (!/^(0|[1-9]\d{0,2})$/.test(prefixText) || Number(prefixText) > bits) {
      throw invalid(`"${trimmed.slice(0, 64)}" has an invalid prefix length`);
    }
    prefix = Number(prefixText);
  }
  return { family: bytes.length === 4 ? 4 : 6, network: maskBytes(bytes, prefix), prefix };
}

export function formatCidr(cidr: Cidr): string {
  if (cidr.family === 4) return `${[...cidr.network].join('.')}/${cidr.prefix}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((cidr.network[i] as number) << 8) | (cidr.network[i + 1] as number));
  return `${formatIpv6Groups(groups)}/${cidr.prefix}`;
}

/** RFC 5952: the longest run of two or more zero groups (the first, on a tie) becomes '::' ("::1", "2001:db8::"). */
function formatIpv6Groups(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < groups.length;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let end = i;
    while (end < groups.length && groups[end] === 0) end++;
    if (end - i > bestLength) {
      bestStart = i;
      bestLength = end - i;
    }
    i = end;
  }
  const hex = (list: readonly number[]) => list.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/** Does `address` (an IP, possibly IPv4-mapped IPv6, possibly with a %zone) fall inside `cidr`? */
export function cidrContains(cidr: Cidr, address: string): boolean {
  let bytes = parseIp(typeof address === 'string' ? address.replace(/%[\w.-]+$/, '') : '');
  if (!bytes) return false;
  if (bytes.length === 16 && cidr.family === 4 && isIpv4Mapped(bytes)) bytes = bytes.slice(12);
  if (bytes.length !== cidr.network.length) return false;
  const masked = maskBytes(bytes, cidr.prefix);
  return masked.every((b, i) => b === cidr.network[i]);
}

/** Is every address of `inner` inside `outer`? */
export function cidrWithin(inner: Cidr, outer: Cidr): boolean {
  return (
    inner.family === outer.family &&
    inner.prefix >= outer.prefix &&
    maskBytes(inner.network, outer.prefix).every((b, i) => b === outer.network[i])
  );
}

export function anyCidrContains(cidrs: readonly string[], address: string | undefined): boolean {
  if (address === undefined) return false;
  return cidrs.some((text) => cidrContains(parseCidr(text), address));
}

function isIpv4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

function maskBytes(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const bitsHere = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] = (bytes[i] as number) & (0xff << (8 - bitsHere)) & 0xff;
  }
  return out;
}
