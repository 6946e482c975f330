package io.wharf.core.manifest;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;
import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.oci.Digest;
import io.wharf.core.oci.ErrorCode;
import io.wharf.core.oci.MediaTypes;
import io.wharf.core.oci.MediaTypes.AcceptClass;
import io.wharf.core.oci.Reference;
import io.wharf.core.oci.RegistryException;
import io.wharf.core.oci.RepositoryName;
import io.wharf.core.store.DiskStore;
import io.wharf.core.store.TagRecord;
import io.wharf.core.store.TagRecordStore;
import io.wharf.core.upstream.ManifestResponse;
import io.wharf.core.upstream.RegistryClient;
import io.wharf.core.upstream.UpstreamException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Manifests by digest and by tag.
 *
 * <h2>Design</h2>
 *
 * <p><b>By digest</b>, a manifest is immutable: look in memory, then the store, then fetch it
 * from upstream, check that its bytes hash to the digest (else it is refused, never stored), and
 * store it. One Caffeine {@link AsyncCache} keyed by digest, weighed by bytes, makes concurrent
 * loads of one digest share one future: one upstream request however many clients ask.
 *
 * <p><b>By tag</b>, the answer is a {@link TagRecord} (digest + media type) per (upstream,
 * repository, tag, class of {@code Accept}). A second {@code AsyncCache} holds records with a
 * per-entry expiry: a fresh record lives for the rest of its {@code tagTtl}, so within the TTL no
 * upstream request is made. When it has expired, the next request reloads it (again one load for
 * all concurrent callers): an upstream {@code HEAD} with the client's {@code Accept}; if the digest
 * is unchanged the record is re-confirmed, else (or when the {@code HEAD} has no digest) a {@code
 * GET} fetches and stores the new manifest, so every digest Wharf advertises is servable. Records
 * persist in {@link TagRecordStore}, so a restart keeps them.
 *
 * <p><b>Upstream failure</b> (429, 5xx, timeout, refused): a known tag is served from its last
 * record (stale-if-error, logged and counted) and retried after a short while; an unknown tag
 * fails with the upstream's honest status. A real upstream 404 is remembered for {@code
 * negativeTtl}; errors are never cached (a failed future leaves the cache).
 */
public final class ManifestService {
  private static final Logger log = LoggerFactory.getLogger(ManifestService.class);
  /** Memory for manifests by digest when no {@code memory} tier is configured. */
  public static final long DEFAULT_MEMORY_BYTES = 64L << 20;
  private static final Duration STALE_RETRY = Duration.ofSeconds(10);

  private final DiskStore store;
  private final TagRecordStore tagStore;
  private final Executor diskExecutor;
  private final WharfMeters meters;
  private final Ticker ticker;
  private final java.util.function.LongSupplier wallClock;
  private final AsyncCache<Digest, Manifest> byDigest;
  private final AsyncCache<TagKey, TagAnswer> byTag;

  /** Cache key of a tag answer. */
  record TagKey(String upstream, RepositoryName repo, String tag, AcceptClass cls) {}

  /** A tag record, or a remembered 404, and how long it may be served without asking upstream. */
  record TagAnswer(TagRecord record, Duration validFor, boolean stale) {
    boolean notFound() {
      return record == null;
    }
  }

  public ManifestService(
      DiskStore store, Executor diskExecutor, WharfMeters meters, Ticker ticker,
      java.util.function.LongSupplier wallClockMillis) {
    this(store, diskExecutor, meters, ticker, wallClockMillis, DEFAULT_MEMORY_BYTES);
  }

  /**
   * @param memoryBytes heap budget for manifests by digest (the {@code memory} tier's {@code
   *     maxSize})
   */
  public ManifestService(
      DiskStore store, Executor diskExecutor, WharfMeters meters, Ticker ticker,
      java.util.function.LongSupplier wallClockMillis, long memoryBytes) {
    this.store = store;
    this.tagStore = new TagRecordStore(store);
    this.diskExecutor = diskExecutor;
    this.meters = meters;
    this.ticker = ticker;
    this.wallClock = wallClockMillis;
    this.byDigest =
        Caffeine.newBuilder()
            .executor(diskExecutor)
            .ticker(ticker)
            .maximumWeight(memoryBytes)
            .<Digest, Manifest>weigher((d, m) -> m.body().length + 200)
            .buildAsync();
    this.byTag =
        Caffeine.newBuilder()
            .executor(diskExecutor)
            .ticker(ticker)
            .maximumSize(100_000)
            .expireAfter(
                new Expiry<TagKey, TagAnswer>() {
                  @Override
                  public long expireAfterCreate(TagKey k, TagAnswer v, long now) {
                    return Math.max(0, v.validFor().toNanos());
                  }

                  @Override
                  public long expireAfterUpdate(TagKey k, TagAnswer v, long now, long cur) {
                    return Math.max(0, v.validFor().toNanos());
                  }

                  @Override
                  public long expireAfterRead(TagKey k, TagAnswer v, long now, long cur) {
                    return cur;
                  }
                })
            .buildAsync();
  }

  public static ManifestService create(DiskStore store, Executor diskExecutor, WharfMeters meters) {
    return create(store, diskExecutor, meters, DEFAULT_MEMORY_BYTES);
  }

  public static ManifestService create(
      DiskStore store, Executor diskExecutor, WharfMeters meters, long memoryBytes) {
    return new ManifestService(store, diskExecutor, meters, Ticker.systemTicker(),
        System::currentTimeMillis, memoryBytes);
  }

  /**
   * The manifest {@code ref} names in {@code repo} of {@code client}'s upstream, as a client with
   * {@code accept} should get it.
   */
  public CompletableFuture<Manifest> get(
      RegistryClient client, RepositoryName repo, Reference ref, String accept) {
    if (ref instanceof Reference.ByDigest d) {
      return byDigest(client, repo, d.digest());
    }
    String tag = ((Reference.Tag) ref).value();
    TagKey key = new TagKey(client.config().name(), repo, tag, MediaTypes.classify(accept));
    // The upstream is asked with the class's Accept, not this client's: the cached answer is
    // shared by every client of the class, so it must not depend on one client's header.
    String upstreamAccept = MediaTypes.upstreamAccept(key.cls());
    boolean[] loaded = new boolean[1];
    return Caches.get(byTag, key, (k, executor) -> {
          loaded[0] = true;
          return loadTag(client, k, upstreamAccept);
        })
        .thenCompose(answer -> {
          if (!loaded[0]) {
            meters.manifestCache(answer.notFound() ? "negative" : answer.stale() ? "stale" : "hit");
          }
          if (answer.notFound()) {
            return CompletableFuture.failedFuture(new UpstreamException(
                UpstreamException.Kind.NOT_FOUND, key.upstream(), ErrorCode.MANIFEST_UNKNOWN, 404,
                "manifest " + repo + ":" + tag + " not found on " + key.upstream(), null, -1));
          }
          Digest digest = Digest.parse(answer.record().digest());
          CompletableFuture<Manifest> m = byDigest(client, repo, digest);
          return answer.stale() ? m.thenApply(Manifest::asStale) : m;
        });
  }

  private CompletableFuture<TagAnswer> loadTag(RegistryClient client, TagKey key, String accept) {
    Duration ttl = client.config().tagTtl();
    return CompletableFuture.supplyAsync(
            () -> tagStore.read(key.upstream(), key.repo().value(), key.tag(), key.cls()),
            diskExecutor)
        .thenCompose(prior -> {
          long now = wallClock.getAsLong();
          if (prior.isPresent()) {
            long age = now - prior.get().fetchedAt();
            if (age >= 0 && age < ttl.toMillis()) {
              // Fresh on disk (e.g. just restarted): no upstream request.
              meters.manifestCache("hit");
              return CompletableFuture.completedFuture(
                  new TagAnswer(prior.get(), ttl.minusMillis(age), false));
            }
            return revalidate(client, key, accept, prior.get(), ttl);
          }
          meters.manifestCache("miss");
          return fetchTag(client, key, accept, ttl);
        })
        .exceptionallyComposeAsync(err -> onTagFailure(client, key, unwrap(err)), diskExecutor);
  }

  private CompletableFuture<TagAnswer> revalidate(
      RegistryClient client, TagKey key, String accept, TagRecord prior, Duration ttl) {
    Reference ref = new Reference.Tag(key.tag());
    return client
        .headManifest(key.repo(), ref, accept)
        .thenCompose(head -> {
          if (head.digest() != null && head.digest().toString().equals(prior.digest())) {
            meters.manifestCache("revalidated");
            TagRecord confirmed = prior.confirmedAt(wallClock.getAsLong());
            return CompletableFuture.supplyAsync(() -> {
                  tagStore.write(confirmed);
                  return new TagAnswer(confirmed, ttl, false);
                }, diskExecutor);
          }
          log.info("tag {}:{} on {} moved from {} to {}; fetching the new manifest",
              key.repo(), key.tag(), key.upstream(), prior.digest(),
              head.digest() == null ? "(no digest in HEAD)" : head.digest());
          return fetchTag(client, key, accept, ttl);
        });
  }

  private CompletableFuture<TagAnswer> fetchTag(
      RegistryClient client, TagKey key, String accept, Duration ttl) {
    return client
        .getManifest(key.repo(), new Reference.Tag(key.tag()), accept)
        .thenApplyAsync(resp -> {
          Manifest m = toManifest(resp);
          store.putManifest(m.digest(), m.body(), m.mediaType());
          byDigest.put(m.digest(), CompletableFuture.completedFuture(m));
          TagRecord r = new TagRecord(key.upstream(), key.repo().value(), key.tag(), key.cls(),
              m.digest().toString(), m.mediaType(), wallClock.getAsLong());
          tagStore.write(r);
          return new TagAnswer(r, ttl, false);
        }, diskExecutor);
  }

  private CompletableFuture<TagAnswer> onTagFailure(RegistryClient client, TagKey key, Throwable err) {
    if (err instanceof UpstreamException ue && ue.kind() == UpstreamException.Kind.NOT_FOUND) {
      Duration neg = client.config().negativeTtl();
      if (!neg.isZero()) {
        return CompletableFuture.completedFuture(new TagAnswer(null, neg, false));
      }
      return CompletableFuture.failedFuture(err);
    }
    if (err instanceof UpstreamException ue && ue.isTransient()) {
      Optional<TagRecord> prior =
          tagStore.read(key.upstream(), key.repo().value(), key.tag(), key.cls());
      if (prior.isPresent()) {
        log.warn("serving stale tag {}:{} from {} ({}): {}", key.repo(), key.tag(), key.upstream(),
            prior.get().digest(), ue.getMessage());
        meters.manifestCache("stale");
        return CompletableFuture.completedFuture(new TagAnswer(prior.get(), STALE_RETRY, true));
      }
    }
    return CompletableFuture.failedFuture(err);
  }

  /** A manifest by digest, and whether this very call fetched it from upstream through its repository. */
  public record Fetched(Manifest manifest, boolean fetchedForRepository) {}

  /**
   * The manifest {@code digest}, saying whether this call's own upstream GET (through {@code
   * repo}) produced it. When it did, the upstream has just shown that {@code repo} holds it;
   * when it came from memory, disk or another caller's load, it has not (see {@code
   * RepositoryAuthorization}).
   */
  public CompletableFuture<Fetched> getByDigest(
      RegistryClient client, RepositoryName repo, Digest digest) {
    boolean[] fetched = new boolean[1];
    return byDigest(client, repo, digest, fetched)
        .thenApply(m -> new Fetched(m, fetched[0]));
  }

  private CompletableFuture<Manifest> byDigest(
      RegistryClient client, RepositoryName repo, Digest digest) {
    return byDigest(client, repo, digest, new boolean[1]);
  }

  private CompletableFuture<Manifest> byDigest(
      RegistryClient client, RepositoryName repo, Digest digest, boolean[] fetchedHere) {
    String accept = MediaTypes.upstreamAccept(AcceptClass.INDEX);
    return Caches.get(byDigest, digest, (d, executor) ->
        CompletableFuture.supplyAsync(() -> store.getManifest(d), diskExecutor)
            .thenCompose(stored -> {
              if (stored.isPresent()) {
                DiskStore.StoredManifest s = stored.get();
                return CompletableFuture.completedFuture(
                    new Manifest(s.body(), s.mediaType(), s.digest(), false));
              }
              meters.manifestCache("miss");
              fetchedHere[0] = true;
              return client
                  .getManifest(repo, new Reference.ByDigest(d), accept)
                  .thenApplyAsync(resp -> {
                    Manifest m = toManifest(resp, d);
                    store.putManifest(d, m.body(), m.mediaType());
                    return m;
                  }, diskExecutor);
            }));
  }

  /** A manifest fetched by tag: checked against the upstream's own digest, and for sanity. */
  private static Manifest toManifest(ManifestResponse resp) {
    Digest claimed = resp.upstreamDigest();
    if (claimed != null && !claimed.matches(claimed.newHasher().digest(resp.body()))) {
      throw refused("its bytes do not match the upstream's Docker-Content-Digest " + claimed
          + " (truncated or altered in transit)");
    }
    return new Manifest(resp.body(), mediaTypeOf(resp), resp.digest(), false);
  }

  private static Manifest toManifest(ManifestResponse resp, Digest expected) {
    byte[] actual = expected.newHasher().digest(resp.body());
    if (!expected.matches(actual)) {
      throw refused("manifest " + expected + " does not match its digest");
    }
    return new Manifest(resp.body(), mediaTypeOf(resp), expected, false);
  }

  private static RegistryException refused(String why) {
    return new RegistryException(ErrorCode.UNAVAILABLE, 502,
        "refused a manifest from upstream: " + why, null);
  }

  /**
   * The media type to serve: the upstream's {@code Content-Type}, or when that is generic the
   * body's own {@code mediaType} field. The body must be a JSON object and the type a valid media
   * type (it becomes a response header), else the manifest is refused.
   */
  private static String mediaTypeOf(ManifestResponse resp) {
    MediaTypeSniffer.Sniffed body = MediaTypeSniffer.sniff(resp.body());
    if (!body.isJsonObject()) {
      throw refused("the body is not a JSON object");
    }
    String t = resp.mediaType();
    if (t == null || t.isBlank() || t.equals("application/json") || t.equals("text/plain")) {
      // Some registries answer OCI manifests with a generic type; the body's own field is better.
      t = body.mediaType() != null ? body.mediaType()
          : (t == null || t.isBlank() ? MediaTypes.OCI_MANIFEST : t);
    }
    if (!MediaTypes.isValid(t)) {
      throw refused("invalid media type");
    }
    return t;
  }

  /**
   * Forgets what {@code tag} of {@code repository} on {@code upstream} pointed to (every tag of
   * the repository when {@code tag} is null), in memory and on disk, so the next request asks
   * upstream. Returns how many records were on disk. Blocking.
   */
  public int forgetTags(String upstream, String repository, String tag) {
    byTag.synchronous().asMap().keySet().removeIf(k -> k.upstream().equals(upstream)
        && k.repo().value().equals(repository) && (tag == null || k.tag().equals(tag)));
    return tagStore.delete(upstream, repository, tag);
  }

  /** Forgets a manifest stored by digest (memory and disk); false if none was stored. Blocking. */
  public boolean forgetManifest(Digest digest) {
    byDigest.synchronous().invalidate(digest);
    return store.deleteManifest(digest);
  }

  /** Drops every cached tag answer (tests and purges). */
  public void invalidateTags() {
    byTag.synchronous().invalidateAll();
  }

  /** How long until a cached answer for this tag expires, for tests. */
  Optional<Long> tagExpiresInNanos(TagKey key) {
    return byTag.synchronous().policy().expireVariably()
        .flatMap(p -> p.getExpiresAfter(key, TimeUnit.NANOSECONDS).stream().boxed().findFirst());
  }

  private static Throwable unwrap(Throwable t) {
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
