package io.wharf.core.upstream;

import io.wharf.core.config.UpstreamConfig;
import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.upstream.UpstreamException.Kind;
import java.net.http.HttpHeaders;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Protects one upstream (and the site's uplink) from Wharf itself.
 *
 * <h2>Design</h2>
 *
 * <ul>
 *   <li><b>Connection slots.</b> At most {@code maxConnections} requests in flight; a blob
 *       download holds its slot until its body ends. Requests beyond that wait in FIFO order for
 *       up to {@code queueTimeout}, then fail fast with 503 and {@code Retry-After}, so clients fall
 *       back (or a stale tag is served) instead of hanging.
 *   <li><b>Bandwidth.</b> One token bucket for all blob bodies of the upstream: after each chunk,
 *       the next request for body data is delayed until the bucket allows it, so the JDK client
 *       stops reading and TCP flow control slows the sender.
 *   <li><b>Circuit breaker.</b> {@code breakerFailures} consecutive transient failures (5xx,
 *       timeouts, refused connections) open it: for {@code breakerOpenFor} every request fails at
 *       once (503, {@code Retry-After}), and cached content keeps being served. Then one trial
 *       request goes through (half-open); its success closes the breaker, its failure reopens it.
 *       4xx answers are the upstream working correctly and do not count.
 *   <li><b>Rate-limit headers</b> ({@code ratelimit-limit}/{@code ratelimit-remaining}, as Docker
 *       Hub sends them) are exported as gauges.
 * </ul>
 *
 * <p>Time comes from an injected nanosecond source; waits are scheduled, never slept.
 */
final class UplinkGuard {
  private static final Logger log = LoggerFactory.getLogger(UplinkGuard.class);
  private static final long BURST_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

  private final String upstream;
  private final int maxConnections;
  private final long queueTimeoutNanos;
  private final int breakerFailures;
  private final long breakerOpenNanos;
  private final long bytesPerSecond;
  private final Executor executor;
  private final LongSupplier nanoTime;
  private final WharfMeters meters;

  // Slots, breaker and bucket state: guarded by this.
  private int inUse;
  private final ArrayDeque<Waiter> waiting = new ArrayDeque<>();
  private int consecutiveFailures;
  private long openUntil = Long.MIN_VALUE;
  private boolean open;
  private boolean trialInFlight;
  private long bucketNext;

  private static final class Waiter {
    final CompletableFuture<Permit> future = new CompletableFuture<>();
  }

  UplinkGuard(UpstreamConfig config, Executor executor, LongSupplier nanoTime, WharfMeters meters) {
    this.upstream = config.name();
    this.maxConnections = config.maxConnections();
    this.queueTimeoutNanos = config.queueTimeout().toNanos();
    this.breakerFailures = config.breakerFailures();
    this.breakerOpenNanos = config.breakerOpenFor().toNanos();
    this.bytesPerSecond = config.maxBandwidthBytes();
    this.executor = executor;
    this.nanoTime = nanoTime;
    this.meters = meters;
    meters.upstreamGauges(upstream, this::inUse, this::queued, () -> isOpen() ? 1 : 0);
  }

  /** A held connection slot; {@link #release} once (later calls do nothing). */
  final class Permit {
    private final AtomicBoolean released = new AtomicBoolean();
    private final boolean trial;

    Permit(boolean trial) {
      this.trial = trial;
    }

    void release() {
      if (released.compareAndSet(false, true)) {
        releaseSlot(trial);
      }
    }
  }

  /**
   * A slot for one request, now or when one frees up; fails with {@code OVERLOADED} when the
   * breaker is open or no slot frees up within the queue timeout.
   */
  CompletableFuture<Permit> acquire() {
    Waiter w;
    synchronized (this) {
      long now = nanoTime.getAsLong();
      boolean trial = false;
      if (open) {
        if (now < openUntil || trialInFlight) {
          long wait = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(openUntil - now) + 1);
          return CompletableFuture.failedFuture(new UpstreamFailure(Kind.OVERLOADED,
              "circuit breaker open after " + breakerFailures + " consecutive upstream failures",
              0, wait, null));
        }
        trial = true;
        trialInFlight = true;
      }
      if (maxConnections == 0 || inUse < maxConnections) {
        inUse++;
        return CompletableFuture.completedFuture(new Permit(trial));
      }
      if (trial) {
        trialInFlight = false;
      }
      w = new Waiter();
      waiting.add(w);
    }
    CompletableFuture.delayedExecutor(queueTimeoutNanos, TimeUnit.NANOSECONDS, executor)
        .execute(() -> {
          boolean removed;
          synchronized (this) {
            removed = waiting.remove(w);
          }
          if (removed) {
            long retry = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(queueTimeoutNanos));
            w.future.completeExceptionally(new UpstreamFailure(Kind.OVERLOADED,
                "all " + maxConnections + " upstream connection slots stayed busy for "
                    + TimeUnit.NANOSECONDS.toMillis(queueTimeoutNanos) + " ms",
                0, retry, null));
          }
        });
    return w.future;
  }

  private void releaseSlot(boolean trial) {
    Waiter next;
    synchronized (this) {
      if (trial) {
        trialInFlight = false;
      }
      next = waiting.poll();
      if (next == null) {
        inUse--;
        return;
      }
    }
    // The slot passes straight to the next waiter (inUse unchanged).
    Permit p = new Permit(false);
    if (!next.future.complete(p)) {
      p.release();
    }
  }

  /** Records a finished request for the breaker. */
  void outcome(Throwable failure) {
    if (breakerFailures == 0) {
      return;
    }
    boolean counts = failure instanceof UpstreamFailure f
        && (f.kind == Kind.SERVER_ERROR || f.kind == Kind.TIMEOUT || f.kind == Kind.UNREACHABLE);
    synchronized (this) {
      if (!counts) {
        if (open && failure == null) {
          log.info("upstream {} answers again; circuit breaker closed", upstream);
        }
        if (failure == null || !(failure instanceof UpstreamFailure f && f.kind == Kind.OVERLOADED)) {
          consecutiveFailures = 0;
          open = false;
        }
        return;
      }
      consecutiveFailures++;
      if (consecutiveFailures >= breakerFailures) {
        if (!open) {
          log.warn("upstream {} failed {} times in a row; circuit breaker open for {} s", upstream,
              consecutiveFailures, TimeUnit.NANOSECONDS.toSeconds(breakerOpenNanos));
        }
        open = true;
        openUntil = nanoTime.getAsLong() + breakerOpenNanos;
      }
    }
  }

  /**
   * Counts {@code bytes} of body against the bandwidth budget; returns how long to wait before
   * asking for more (0 when unlimited or within budget).
   */
  long consume(long bytes) {
    if (bytesPerSecond <= 0) {
      return 0;
    }
    long cost = bytes * 1_000_000_000L / bytesPerSecond;
    synchronized (this) {
      long now = nanoTime.getAsLong();
      bucketNext = Math.max(bucketNext, now - BURST_NANOS) + cost;
      return Math.max(0, bucketNext - now);
    }
  }

  /** Reads Docker Hub style rate-limit headers ({@code 100;w=21600}) into gauges. */
  void observe(HttpHeaders headers) {
    headers.firstValue("ratelimit-limit").ifPresent(v -> parse(v, true));
    headers.firstValue("ratelimit-remaining").ifPresent(v -> parse(v, false));
  }

  private void parse(String value, boolean limit) {
    String n = value.split(";", 2)[0].trim();
    try {
      long v = Long.parseLong(n);
      if (limit) {
        meters.rateLimitLimit(upstream, v);
      } else {
        meters.rateLimitRemaining(upstream, v);
      }
    } catch (NumberFormatException e) {
      // not a number: ignore
    }
  }

  synchronized int inUse() {
    return inUse;
  }

  synchronized int queued() {
    return waiting.size();
  }

  synchronized boolean isOpen() {
    return open && (nanoTime.getAsLong() < openUntil || trialInFlight);
  }
}
