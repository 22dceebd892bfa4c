import { BlockList, isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isStrongroomError } from '../shared/errors.js';
import { cidrContains, cidrWithin, formatCidr, parseCidr, parseIp } from './cidr.js';

describe('CIDR formatting', () => {
  it.each([
    ['::1', '::1/128'],
    ['::', '::/128'],
    ['2001:db8::/32', '2001:db8::/32'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1/128'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3/128'],
    ['fe80:0:0:0:0:0:0:0/10', 'fe80::/10'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8/128'],
    ['1:0:3:4:5:6:7:8', '1:0:3:4:5:6:7:8/128'],
    ['10.0.0.7', '10.0.0.7/32'],
  ])('formats %s as %s (RFC 5952)', (input, expected) => {
    expect(formatCidr(parseCidr(input))).toBe(expected);
  });

  it('property: a formatted block parses back to the same block', () => {
    fc.assert(
      fc.property(fc.ipV6(), fc.integer({ min: 0, max: 128 }), (address, prefix) => {
        const cidr = parseCidr(`${address}/${prefix}`);
        expect(parseCidr(formatCidr(cidr))).toEqual(cidr);
      }),
    );
  });
});

describe('CIDR matching', () => {
  it.each([
    ['10.0.0.0/8', '10.200.3.4', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['192.168.1.7/32', '192.168.1.7', true],
    ['192.168.1.7', '192.168.1.8', false],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['10.1.2.3/16', '10.1.99.1', true], // host bits are cleared, like Go's ParseCIDR
    ['127.0.0.0/8', '::ffff:127.0.0.1', true], // IPv4 client on a dual-stack socket
    ['127.0.0.0/8', '::1', false],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['::1/128', '::1', true],
    ['fe80::/10', 'fe80::1%eth0', true],
    ['::/0', '10.0.0.1', false], // an IPv6 block never matches a plain IPv4 address
  ] as const)('%s contains %s → %s', (cidr, address, expected) => {
    expect(cidrContains(parseCidr(cidr), address)).toBe(expected);
  });

  it.each([
    '10.0.0.0/33',
    '010.0.0.1/8',
    '10.0.0/8',
    '10.0.0.0/-1',
    '1::2::3/64',
    '2001:db8::/129',
    'x',
    '',
    '10.0.0.0/08',
    '1:2:3:4:5:6:7:8:9/64',
  ])('rejects %j', (text) => {
    let caught: unknown;
    try {
      parseCidr(text);
    } catch (err) {
      caught = err;
    }
    expect(isStrongroomError(caught, 'invalid')).toBe(true);
  });

  it('rejects malformed addresses instead of matching them', () => {
    expect(cidrContains(parseCidr('0.0.0.0/0'), '1.2.3')).toBe(false);
    expect(cidrContains(parseCidr('0.0.0.0/0'), '')).toBe(false);
    expect(cidrContains(parseCidr('0.0.0.0/0'), '1.2.3.4 ')).toBe(false);
  });

  it('knows when one block lies inside another', () => {
    expect(cidrWithin(parseCidr('10.1.0.0/16'), parseCidr('10.0.0.0/8'))).toBe(true);
    expect(cidrWithin(parseCidr('10.0.0.0/8'), parseCidr('10.1.0.0/16'))).toBe(false);
    expect(cidrWithin(parseCidr('2001:db8:1::/48'), parseCidr('2001:db8::/32'))).toBe(true);
  });

  const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((parts) => parts.join('.'));

  it('property: IPv4 agrees with node:net BlockList', () => {
    fc.assert(
      fc.property(ipv4, fc.integer({ min: 0, max: 32 }), ipv4, (network, prefix, address) => {
        const cidr = parseCidr(`${network}/${prefix}`);
        const oracle = new BlockList();
        oracle.addSubnet(formatCidr(cidr).split('/')[0]!, prefix, 'ipv4');
        expect(cidrContains(cidr, address)).toBe(oracle.check(address, 'ipv4'));
      }),
    );
  });

  it('property: IPv6 agrees with node:net BlockList', () => {
    const ipv6 = fc.ipV6().filter((a) => !a.includes('.'));
    fc.assert(
      fc.property(ipv6, fc.integer({ min: 0, max: 128 }), ipv6, (network, prefix, address) => {
        const cidr = parseCidr(`${network}/${prefix}`);
        const oracle = new BlockList();
        oracle.addSubnet(formatCidr(cidr).split('/')[0]!, prefix, 'ipv6');
        expect(cidrContains(cidr, address)).toBe(oracle.check(address, 'ipv6'));
      }),
    );
  });

  it('property: parseIp accepts exactly what node:net recognises as an IP', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 20 })), (text) => {
        expect(parseIp(text) !== undefined).toBe(isIP(text) !== 0);
      }),
    );
  });

  it('property: an address is inside its own /32 and /128', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (address) => {
        expect(cidrContains(parseCidr(address), address)).toBe(true);
      }),
    );
  });
});
