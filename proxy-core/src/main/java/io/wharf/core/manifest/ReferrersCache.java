package io.wharf.core.manifest;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;
import io.wharf.core.oci.Digest;
import io.wharf.core.oci.RepositoryName;
import io.wharf.core.upstream.RawResponse;
import io.wharf.core.upstream.RegistryClient;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * Referrers API answers ({@code GET /v2/<name>/referrers/<digest>}, with the client's {@code
 * artifactType} filter in the query), cached per (upstream, repository, digest, query): a 200 for
 * the upstream's tag TTL, a 404 for its negative TTL (so clients keep falling back to the {@code
 * sha256-<hex>} tag scheme without asking upstream each time). Concurrent misses share one
 * upstream request; failures are not cached.
 */
public final class ReferrersCache {
  private static final long MAX_BYTES = 16L << 20;

  private record Key(String upstream, RepositoryName repo, Digest digest, String query) {}

  private record Entry(RawResponse response, Duration ttl) {}

  private final AsyncCache<Key, Entry> cache;

  public ReferrersCache(Executor executor, Ticker ticker) {
    this.cache =
        Caffeine.newBuilder()
            .executor(executor)
            .ticker(ticker)
            .maximumWeight(MAX_BYTES)
            .<Key, Entry>weigher((k, e) -> e.response().body().length + 256)
            .expireAfter(
                new Expiry<Key, Entry>() {
                  @Override
                  public long expireAfterCreate(Key k, Entry e, long now) {
                    return e.ttl().toNanos();
                  }

                  @Override
                  public long expireAfterUpdate(Key k, Entry e, long now, long current) {
                    return e.ttl().toNanos();
                  }

                  @Override
                  public long expireAfterRead(Key k, Entry e, long now, long current) {
                    return current;
                  }
                })
            .buildAsync();
  }

  /** The referrers answer for {@code digest}, from cache or upstream. */
  public CompletableFuture<RawResponse> get(
      RegistryClient client, RepositoryName repo, Digest digest, String query, String accept) {
    Key key = new Key(client.config().name(), repo, digest, query == null ? "" : query);
    return Caches.get(cache, key, (k, ex) -> client
            .get(repo, "referrers/" + digest, k.query(), accept)
            .thenApply(r -> new Entry(r, ttlFor(client, r))))
        .thenApply(Entry::response);
  }

  private static Duration ttlFor(RegistryClient client, RawResponse r) {
    if (r.status() == 200) {
      return client.config().tagTtl();
    }
    if (r.status() == 404) {
      return client.config().negativeTtl();
    }
    return Duration.ZERO;
  }
}
