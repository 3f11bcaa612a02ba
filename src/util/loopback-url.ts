// A URL this machine uses for one of its own loopback services (http://127.0.0.1:9000, a
// git://localhost/ repository, a proxy at [::1]:3128), as a node with a network of its own must
// write it: the same URL with the host replaced by the address where this machine's loopback
// answers for that node (an isolated local node's gateway, providers/local/isolation/network.ts).
// Only the host changes — scheme, credentials, port, path and query stay byte for byte — so an
// endpoint that callers extend (`${endpoint}/storage/v1/`) keeps working. Pure.

/** localhost, 127.0.0.0/8 and ::1 (bracketed in URLs), as written in a URL's host. */
const LOOPBACK_HOST = String.raw`(?:localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[(?:0{0,4}:){2,7}0{0,3}1\])`;

// scheme://[userinfo@]HOST followed by :port, a path, ?query, #fragment or the end
const WITH_SCHEME = new RegExp(String.raw`^([A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?)${LOOPBACK_HOST}(?=[:/?#]|$)`, 'i');
// HOST[:port] alone (STORAGE_EMULATOR_HOST=127.0.0.1:4443, a proxy without a scheme)
const BARE = new RegExp(String.raw`^()${LOOPBACK_HOST}(?=(?::\d+)?/?$)`, 'i');
// git's scp-like form: [user@]HOST:path
const SCP_LIKE = new RegExp(String.raw`^((?:[^/@:]+@)?)${LOOPBACK_HOST}(?=:(?!//))`, 'i');

export function isLoopbackUrl(url: string): boolean {
  return WITH_SCHEME.test(url) || BARE.test(url) || SCP_LIKE.test(url);
}

/** `url` with a loopback host replaced by `address` (an IPv4 address); any other URL unchanged. */
export function loopbackUrlVia(url: string, address: string): string {
  // (functions, not `$1…` patterns: an address starting with a digit would read as group 11)
  for (const re of [WITH_SCHEME, BARE, SCP_LIKE]) if (re.test(url)) return url.replace(re, (_m, before: string) => before + address);
  return url;
}
