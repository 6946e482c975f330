package io.wharf.core.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Every meter name and tag key Wharf publishes, in one place. Micrometer names {@code wharf.*}
 * render as {@code wharf_*} in Prometheus. Tag values come only from closed sets ({@code kind},
 * {@code result}, {@code route}, {@code upstream}, {@code source}, {@code tier}): never a
 * repository, tag, digest or client address.
 */
public final class WharfMeters {

  public static final String UPSTREAM_REQUESTS = "wharf.upstream.requests";
  public static final String UPSTREAM_BYTES = "wharf.upstream.bytes";
  public static final String TOKEN_CACHE = "wharf.upstream.token.cache";
  public static final String FETCHES = "wharf.fetch.started";
  public static final String FETCH_JOINS = "wharf.fetch.joined";
  public static final String FETCH_RESULTS = "wharf.fetch.completed";
  public static final String FETCH_RESUMES = "wharf.fetch.resumes";
  public static final String FETCHES_IN_FLIGHT = "wharf.fetch.inflight";
  public static final String FETCH_READERS = "wharf.fetch.readers";
  public static final String REQUESTS = "wharf.http.requests";
  public static final String TTFB = "wharf.http.ttfb";
  public static final String NETTY_DIRECT_MEMORY = "wharf.netty.direct.memory.used";
  public static final String NETTY_PENDING_TASKS = "wharf.netty.eventloop.pending.tasks";
  public static final String SERVED_BYTES = "wharf.served.bytes";
  public static final String MANIFEST_CACHE = "wharf.manifest.cache";
  public static final String REPOSITORY_CHECKS = "wharf.repository.checks";
  public static final String PASS_THROUGH_AUTH = "wharf.passthrough.auth";
  public static final String UPSTREAM_SLOTS_IN_USE = "wharf.upstream.connections.active";
  public static final String UPSTREAM_QUEUED = "wharf.upstream.connections.queued";
  public static final String UPSTREAM_BREAKER_OPEN = "wharf.upstream.breaker.open";
  public static final String UPSTREAM_RATELIMIT_LIMIT = "wharf.upstream.ratelimit.limit";
  public static final String UPSTREAM_RATELIMIT_REMAINING = "wharf.upstream.ratelimit.remaining";
  public static final String STORE_FS_FREE = "wharf.store.filesystem.free";
  public static final String STORE_FS_SIZE = "wharf.store.filesystem.size";

  public static final String STORE_ENTRIES = "wharf.store.entries";
  public static final String STORE_BYTES = "wharf.store.bytes";
  public static final String STORE_RESERVED = "wharf.store.reserved.bytes";
  public static final String STORE_CAPACITY = "wharf.store.capacity.bytes";
  public static final String STORE_LOOKUPS = "wharf.store.lookups";
  public static final String STORE_EVICTIONS = "wharf.store.evictions";
  public static final String STORE_PROMOTIONS = "wharf.store.promotions";
  public static final String STORE_NO_ROOM = "wharf.store.no.room";
  public static final String STORE_PASSTHROUGH = "wharf.store.passthrough";
  public static final String STORE_WRITE_FAILURES = "wharf.store.write.failures";
  public static final String PEER_REQUESTS = "wharf.peer.requests";
  public static final String PEERS_UP = "wharf.peers.up";
  public static final String PEERS_KNOWN = "wharf.peers.known";

  private final MeterRegistry registry;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final java.util.Map<String, java.util.concurrent.atomic.AtomicLong> rateLimits =
      new java.util.concurrent.ConcurrentHashMap<>();

  public WharfMeters(MeterRegistry registry) {
    this.registry = registry;
    registry.gauge(FETCHES_IN_FLIGHT, inFlight);
  }

  /** Meters that go nowhere, for tests and tools. */
  public static WharfMeters noop() {
    return new WharfMeters(new SimpleMeterRegistry());
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** Upstream request outcome. {@code kind}: manifest, blob, token, tags, referrers, ping. */
  public void upstreamRequest(String upstream, String kind, String result) {
    Counter.builder(UPSTREAM_REQUESTS)
        .description("Requests sent to upstream registries, by kind and outcome")
        .tags("upstream", upstream, "kind", kind, "result", result)
        .register(registry)
        .increment();
  }

  public void upstreamBytes(String upstream, long bytes) {
    Counter.builder(UPSTREAM_BYTES)
        .baseUnit("bytes")
        .description("Body bytes received from upstream registries")
        .tags("upstream", upstream)
        .register(registry)
        .increment(bytes);
  }

  /** Gauges of one upstream's connection slots and circuit breaker. */
  public void upstreamGauges(String upstream, java.util.function.IntSupplier active,
      java.util.function.IntSupplier queued, java.util.function.IntSupplier breakerOpen) {
    io.micrometer.core.instrument.Gauge.builder(UPSTREAM_SLOTS_IN_USE, active::getAsInt)
        .description("Upstream requests in flight (a blob download holds one until its body ends)")
        .tags("upstream", upstream).register(registry);
    io.micrometer.core.instrument.Gauge.builder(UPSTREAM_QUEUED, queued::getAsInt)
        .description("Requests waiting for an upstream connection slot")
        .tags("upstream", upstream).register(registry);
    io.micrometer.core.instrument.Gauge.builder(UPSTREAM_BREAKER_OPEN, breakerOpen::getAsInt)
        .description("1 while the upstream's circuit breaker fails requests fast")
        .tags("upstream", upstream).register(registry);
  }

  public void rateLimitLimit(String upstream, long value) {
    rateLimitGauge(UPSTREAM_RATELIMIT_LIMIT, upstream,
        "Upstream pull limit (ratelimit-limit header)").set(value);
  }

  public void rateLimitRemaining(String upstream, long value) {
    rateLimitGauge(UPSTREAM_RATELIMIT_REMAINING, upstream,
        "Upstream pulls remaining (ratelimit-remaining header)").set(value);
  }

  private java.util.concurrent.atomic.AtomicLong rateLimitGauge(
      String name, String upstream, String description) {
    return rateLimits.computeIfAbsent(name + "|" + upstream, k -> {
      java.util.concurrent.atomic.AtomicLong v = new java.util.concurrent.atomic.AtomicLong();
      io.micrometer.core.instrument.Gauge.builder(name, v, java.util.concurrent.atomic.AtomicLong::get)
          .description(description).tags("upstream", upstream).register(registry);
      return v;
    });
  }

  /**
   * Free and total bytes of the file system that holds a disk tier ({@code tier}: its name, as in
   * {@link #tierGauges}). Read at scrape time. A tier sitting at its byte budget is normal for a
   * cache that evicts; a file system running out under it (other tenants, {@code minFree}) is not,
   * and is what the "disk nearly full" alert watches.
   */
  public void storeFilesystem(String tier, java.nio.file.Path path) {
    java.nio.file.FileStore fs;
    try {
      fs = java.nio.file.Files.getFileStore(path);
    } catch (java.io.IOException e) {
      return; // no gauge rather than a wrong one
    }
    // Supplier gauges: the meter holds the lambda, and with it the FileStore. The
    // (object, function) form holds its object only weakly, and nothing else keeps a FileStore:
    // after the first GC both gauges read NaN (the disk-full alert could never fire).
    io.micrometer.core.instrument.Gauge.builder(STORE_FS_FREE, () -> fsBytes(fs, true))
        .baseUnit("bytes").description("Usable bytes left on the file system of a disk tier")
        .tags("tier", tier).register(registry);
    io.micrometer.core.instrument.Gauge.builder(STORE_FS_SIZE, () -> fsBytes(fs, false))
        .baseUnit("bytes").description("Size of the file system of a disk tier")
        .tags("tier", tier).register(registry);
  }

  private static double fsBytes(java.nio.file.FileStore fs, boolean free) {
    try {
      return free ? fs.getUsableSpace() : fs.getTotalSpace();
    } catch (java.io.IOException e) {
      return Double.NaN;
    }
  }

  /** {@code result}: hit or miss. */
  public void tokenCache(String upstream, String result) {
    Counter.builder(TOKEN_CACHE)
        .description("Upstream token cache lookups")
        .tags("upstream", upstream, "result", result)
        .register(registry)
        .increment();
  }

  public void fetchStarted(String upstream) {
    Counter.builder(FETCHES)
        .description("Upstream blob fetches started (one per digest, however many readers)")
        .tags("upstream", upstream)
        .register(registry)
        .increment();
    inFlight.incrementAndGet();
  }

  public void fetchJoined() {
    Counter.builder(FETCH_JOINS)
        .description("Blob requests that joined a fetch already in flight")
        .register(registry)
        .increment();
  }

  /**
   * {@code result}: ok, digest_mismatch, upstream_error, io_error, no_room; for a fetch passed
   * through uncached: passthrough (verified and sent), or cancelled (its client left).
   */
  public void fetchFinished(String upstream, String result, int readers) {
    inFlight.decrementAndGet();
    Counter.builder(FETCH_RESULTS)
        .description("Upstream blob fetches finished, by result")
        .tags("upstream", upstream, "result", result)
        .register(registry)
        .increment();
    DistributionSummary.builder(FETCH_READERS)
        .description("Readers served by one upstream blob fetch")
        .register(registry)
        .record(readers);
  }

  public void fetchResumed(String upstream) {
    Counter.builder(FETCH_RESUMES)
        .description("Broken blob downloads resumed with a Range request")
        .tags("upstream", upstream)
        .register(registry)
        .increment();
  }

  /** {@code result}: hit, miss, stale, negative. */
  public void manifestCache(String result) {
    Counter.builder(MANIFEST_CACHE)
        .description("Manifest lookups by outcome")
        .tags("result", result)
        .register(registry)
        .increment();
  }

  /**
   * Per-repository authorization of cached content. {@code kind}: blob, manifest; {@code result}:
   * linked, tag, fetched, confirmed (upstream said yes), not_found, denied.
   */
  public void repositoryCheck(String kind, String result) {
    Counter.builder(REPOSITORY_CHECKS)
        .description("Per-repository authorization checks of cached content by outcome")
        .tags("kind", kind, "result", result)
        .register(registry)
        .increment();
  }

  /**
   * Pass-through authorization of a client for a repository. {@code result}: allowed, denied,
   * not_found, error; {@code source}: cache (a remembered answer), upstream (asked just now).
   */
  public void passThroughAuth(String upstream, String result, String source) {
    Counter.builder(PASS_THROUGH_AUTH)
        .description("Pass-through checks of a client's own credentials by outcome")
        .tags("upstream", upstream, "result", result, "source", source)
        .register(registry)
        .increment();
  }

  /** {@code source}: disk, inflight, passthrough (uncached, no tier had room). */
  public void servedBytes(String source, long bytes) {
    Counter.builder(SERVED_BYTES)
        .baseUnit("bytes")
        .description("Body bytes sent to clients, by where they came from")
        .tags("source", source)
        .register(registry)
        .increment(bytes);
  }

  /** Entries and bytes of the memory tier for small blobs. */
  public void memoryTier(java.util.function.LongSupplier entries, java.util.function.LongSupplier bytes) {
    io.micrometer.core.instrument.Gauge.builder("wharf.store.memory.entries", () -> (double) entries.getAsLong())
        .description("Small blobs held in the memory tier")
        .register(registry);
    io.micrometer.core.instrument.Gauge.builder("wharf.store.memory.bytes", () -> (double) bytes.getAsLong())
        .baseUnit("bytes")
        .description("Bytes of small blobs held in the memory tier")
        .register(registry);
  }

  /** Netty's pooled direct memory in use, in bytes. */
  public void nettyDirectMemory(java.util.function.LongSupplier bytes) {
    io.micrometer.core.instrument.Gauge.builder(NETTY_DIRECT_MEMORY, () -> (double) bytes.getAsLong())
        .baseUnit("bytes")
        .description("Direct memory held by Netty's pooled allocator")
        .register(registry);
  }

  /** Tasks queued on all event loops (a growing number means the loops are falling behind). */
  public void nettyPendingTasks(java.util.function.IntSupplier tasks) {
    io.micrometer.core.instrument.Gauge.builder(NETTY_PENDING_TASKS, () -> (double) tasks.getAsInt())
        .description("Tasks waiting on Netty event loops")
        .register(registry);
  }

  /** Time from a request's arrival to its response headers being written, by route. */
  public void timeToFirstByte(String route, Duration duration) {
    Timer.builder(TTFB)
        .description("Time from request to response headers, by route")
        .tags("route", route)
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofMinutes(5))
        .register(registry)
        .record(duration);
  }

  public void request(String route, String method, int status, Duration duration) {
    Timer.builder(REQUESTS)
        .description("Client requests, by route, method and status")
        .tags("route", route, "method", method, "status", Integer.toString(status))
        // Buckets for histogram_quantile() in the dashboard (p50/p99 across instances); bounded
        // to 1 ms..5 min so each route/method/status series costs a few dozen buckets.
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofMinutes(5))
        .register(registry)
        .record(duration);
  }

  /** Gauges of one storage tier ({@code tier}: memory, disk0, disk1, …). */
  public void tierGauges(String tier, java.util.function.LongSupplier entries,
      java.util.function.LongSupplier bytes, java.util.function.LongSupplier reserved,
      java.util.function.LongSupplier capacity) {
    io.micrometer.core.instrument.Gauge.builder(STORE_ENTRIES, entries::getAsLong)
        .description("Blobs held by a storage tier").tags("tier", tier).register(registry);
    io.micrometer.core.instrument.Gauge.builder(STORE_BYTES, bytes::getAsLong).baseUnit("bytes")
        .description("Bytes of the blobs held by a storage tier").tags("tier", tier)
        .register(registry);
    io.micrometer.core.instrument.Gauge.builder(STORE_RESERVED, reserved::getAsLong)
        .description("Bytes of a tier's budget reserved for fetches and copies in progress")
        .tags("tier", tier).register(registry);
    io.micrometer.core.instrument.Gauge.builder(STORE_CAPACITY, capacity::getAsLong)
        .description("A storage tier's byte budget (maxSize; absent = unbounded)")
        .tags("tier", tier).register(registry);
  }

  /** A blob look-up in one tier; {@code result}: hit, miss. */
  public void tierLookup(String tier, String result) {
    Counter.builder(STORE_LOOKUPS)
        .description("Blob look-ups per storage tier, by result")
        .tags("tier", tier, "result", result)
        .register(registry)
        .increment();
  }

  /** A blob left a tier; {@code result}: demoted (to a lower tier), deleted, expired. */
  public void tierEviction(String tier, String result) {
    Counter.builder(STORE_EVICTIONS)
        .description("Blobs evicted from a storage tier, by what became of them")
        .tags("tier", tier, "result", result)
        .register(registry)
        .increment();
  }

  /** A hot blob was copied up into {@code tier}. */
  public void tierPromotion(String tier) {
    Counter.builder(STORE_PROMOTIONS)
        .description("Blobs promoted into a storage tier because they proved hot")
        .tags("tier", tier)
        .register(registry)
        .increment();
  }

  /** A fetch found no tier with room: it was refused (503) and nothing was stored. */
  public void storeNoRoom() {
    Counter.builder(STORE_NO_ROOM)
        .description("Blob fetches refused because no storage tier had room")
        .register(registry)
        .increment();
  }

  /**
   * No tier had room for a blob, so it was streamed from upstream to the one request that asked
   * first, uncached (concurrent requests for it got 503).
   */
  public void storePassthrough() {
    Counter.builder(STORE_PASSTHROUGH)
        .description("Blobs streamed to a client uncached because no storage tier had room")
        .register(registry)
        .increment();
  }

  /** A write to a tier failed; it is skipped for a while. */
  public void tierWriteFailure(String tier) {
    Counter.builder(STORE_WRITE_FAILURES)
        .description("Writes that failed on a storage tier (it is then skipped for a while)")
        .tags("tier", tier)
        .register(registry)
        .increment();
  }

  /**
   * A blob request to a peer (or the fall back to the upstream after all owners failed), by
   * {@code result}: ok, not_found, refused (token), rate_limited, loop, timeout, unreachable,
   * error (5xx or a bad answer), body_error (broke mid-body), upstream_fallback.
   */
  public void peerRequest(String result) {
    Counter.builder(PEER_REQUESTS)
        .description("Blob requests to peer Wharf instances, by outcome")
        .tags("result", result)
        .register(registry)
        .increment();
  }

  /** Peers up (this instance included) and peers known. */
  public void peerGauges(java.util.function.IntSupplier up, java.util.function.IntSupplier known) {
    Gauge.builder(PEERS_UP, up::getAsInt)
        .description("Peer instances considered up, this one included")
        .register(registry);
    Gauge.builder(PEERS_KNOWN, known::getAsInt)
        .description("Peer instances known (static members and DNS), this one included")
        .register(registry);
  }
}
