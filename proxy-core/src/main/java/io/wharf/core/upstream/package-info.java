/**
 * The upstream registry client.
 *
 * <pre>
 * RegistryClient        one method per registry operation; status → result or UpstreamException
 *   └─ RegistryAuth     credentials per request, answers 401/403 challenges, remembers them
 *        ├─ TokenCache  Bearer tokens per (realm, service, scope), single flight (Caffeine AsyncCache)
 *        │    └─ Transport
 *        └─ Transport   JDK HttpClient; own redirects, Authorization only to the registry's origin
 * WwwAuthenticate, RetryAfter, EnvProxySelector, BoundedBody, BlobBody (byte count + body idle watchdog): leaves
 * </pre>
 *
 * <p>Internally failures travel as {@code UpstreamFailure} (kind + detail); {@code RegistryClient}
 * turns them into {@link io.wharf.core.upstream.UpstreamException} with the action in front. The
 * package does not log failures (the server logs once at its boundary); it logs one DEBUG line per
 * request sent, without query strings (presigned URLs carry signatures) and without secrets.
 */
package io.wharf.core.upstream;
