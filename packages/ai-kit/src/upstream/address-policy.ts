// Which IP addresses a user-supplied URL may reach: public unicast only. Everything ipaddr.js classifies as
// anything else (loopback, private, link-local incl. cloud metadata, unique-local, CGNAT, unspecified, reserved,
// multicast, broadcast, NAT64 and 6to4 forms that can embed a private IPv4, …) is refused.
import { isIP } from 'node:net';

import ipaddr from 'ipaddr.js';

export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  // process() unwraps IPv4-mapped IPv6 (::ffff:127.0.0.1 → 127.0.0.1) so the IPv4 ranges apply.
  const parsed = ipaddr.process(address);
  if (parsed.range() !== 'unicast') return false;
  // ::/96 (IPv4-compatible, deprecated) is "unicast" to ipaddr.js but is no public host.
  if (
    parsed.kind() === 'ipv6' &&
    parsed
      .toByteArray()
      .slice(0, 12)
      .every((byte) => byte === 0)
  )
    return false;
  return true;
}

/** The host of a URL as an IP literal (IPv6 without brackets), or null when it is a name. */
export function ipLiteral(hostname: string): string | null {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return isIP(bare) === 0 ? null : bare;
}

/** Host names compare case-insensitively, without brackets or a trailing dot. */
export function normalizeHost(hostname: string): string {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return bare.replace(/\.$/, '').toLowerCase();
}
