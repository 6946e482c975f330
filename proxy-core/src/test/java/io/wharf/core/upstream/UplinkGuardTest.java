package io.wharf.core.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.wharf.core.config.WharfConfig;
import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.upstream.UpstreamException.Kind;
import java.net.http.HttpHeaders;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class UplinkGuardTest {
  private final AtomicLong now = new AtomicLong(1_000_000_000L);
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  private UplinkGuard guard(String extraYaml) {
    WharfConfig c = WharfConfig.parse(
        "upstreams:\n  - name: up\n    url: http://127.0.0.1:1\n" + extraYaml);
    return new UplinkGuard(c.upstreams().get(0), ForkJoinPool.commonPool(), now::get,
        new WharfMeters(registry));
  }

  private static UpstreamFailure failureOf(CompletableFuture<?> f) {
    try {
      f.get();
      throw new AssertionError("expected failure");
    } catch (ExecutionException e) {
      return (UpstreamFailure) e.getCause();
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void acquire_beyondMaxConnections_waitsThenGetsFreedSlot() throws Exception {
    UplinkGuard g = guard("    maxConnections: 2\n    queueTimeout: 30s\n");
    UplinkGuard.Permit p1 = g.acquire().get();
    g.acquire().get();
    CompletableFuture<UplinkGuard.Permit> third = g.acquire();
    assertThat(third).isNotDone();
    assertThat(g.queued()).isEqualTo(1);
    p1.release();
    p1.release(); // twice is harmless
    assertThat(third).isCompleted();
    assertThat(g.inUse()).isEqualTo(2);
    assertThat(g.queued()).isZero();
    assertThat(registry.get("wharf.upstream.connections.active").gauge().value()).isEqualTo(2);
  }

  @Test
  void acquire_queueTimeout_failsOverloadedWithRetryAfter() throws Exception {
    UplinkGuard g = guard("    maxConnections: 1\n    queueTimeout: 50ms\n");
    g.acquire().get();
    CompletableFuture<UplinkGuard.Permit> waiting = g.acquire();
    await().atMost(Duration.ofSeconds(5)).until(waiting::isDone);
    UpstreamFailure f = failureOf(waiting);
    assertThat(f.kind).isEqualTo(Kind.OVERLOADED);
    assertThat(f.retryAfterSeconds).isGreaterThanOrEqualTo(1);
    assertThat(g.queued()).isZero();
  }

  @Test
  void breaker_opensAfterConsecutiveFailures_failsFast_thenOneTrialClosesIt() throws Exception {
    UplinkGuard g = guard("    breakerFailures: 3\n    breakerOpenFor: 30s\n");
    UpstreamFailure boom = new UpstreamFailure(Kind.SERVER_ERROR, "503", 503, -1, null);
    for (int i = 0; i < 3; i++) {
      UplinkGuard.Permit p = g.acquire().get();
      g.outcome(boom);
      p.release();
    }
    assertThat(g.isOpen()).isTrue();
    UpstreamFailure fast = failureOf(g.acquire());
    assertThat(fast.kind).isEqualTo(Kind.OVERLOADED);
    assertThat(fast.getMessage()).contains("circuit breaker open");
    assertThat(fast.retryAfterSeconds).isBetween(1L, 31L);

    now.addAndGet(TimeUnit.SECONDS.toNanos(31));
    UplinkGuard.Permit trial = g.acquire().get();
    assertThat(failureOf(g.acquire()).getMessage()).as("only one trial at a time")
        .contains("circuit breaker open");
    g.outcome(null);
    trial.release();
    assertThat(g.isOpen()).isFalse();
    assertThat(g.acquire()).isCompleted();
  }

  @Test
  void breaker_failedTrial_reopens_and4xxDoNotCount() throws Exception {
    UplinkGuard g = guard("    breakerFailures: 2\n    breakerOpenFor: 10s\n");
    UpstreamFailure timeout = new UpstreamFailure(Kind.TIMEOUT, "t");
    UpstreamFailure notFound = new UpstreamFailure(Kind.NOT_FOUND, "404", 404, -1, null);
    g.outcome(timeout);
    g.outcome(notFound);
    g.outcome(timeout);
    assertThat(g.isOpen()).as("a 404 in between resets the count").isFalse();
    g.outcome(timeout);
    assertThat(g.isOpen()).isTrue();
    now.addAndGet(TimeUnit.SECONDS.toNanos(11));
    UplinkGuard.Permit trial = g.acquire().get();
    g.outcome(timeout);
    trial.release();
    assertThat(g.isOpen()).isTrue();
    assertThat(failureOf(g.acquire()).kind).isEqualTo(Kind.OVERLOADED);
  }

  @Test
  void breaker_disabledWithZero() throws Exception {
    UplinkGuard g = guard("    breakerFailures: 0\n");
    for (int i = 0; i < 50; i++) {
      g.outcome(new UpstreamFailure(Kind.UNREACHABLE, "refused"));
    }
    assertThat(g.acquire()).isCompleted();
  }

  @Test
  void consume_overBudget_returnsDelayProportionalToBytes() {
    UplinkGuard g = guard("    maxBandwidth: 1MiB\n");
    long oneMiB = 1 << 20;
    assertThat(g.consume(oneMiB / 10)).as("within the 200 ms burst").isZero();
    long d = g.consume(oneMiB);
    // 1.1 MiB consumed at 1 MiB/s with a 200 ms burst: about 0.9 s to wait.
    assertThat(d).isBetween(TimeUnit.MILLISECONDS.toNanos(850), TimeUnit.MILLISECONDS.toNanos(950));
    now.addAndGet(TimeUnit.SECONDS.toNanos(5));
    assertThat(g.consume(oneMiB / 10)).isZero();
    assertThat(guard("").consume(Long.MAX_VALUE / 2)).as("unlimited").isZero();
  }

  @Test
  void observe_dockerHubRateLimitHeaders_exportedAsGauges() {
    UplinkGuard g = guard("");
    g.observe(HttpHeaders.of(Map.of(
        "ratelimit-limit", List.of("100;w=21600"), "ratelimit-remaining", List.of("76;w=21600")),
        (a, b) -> true));
    assertThat(registry.get("wharf.upstream.ratelimit.limit").tag("upstream", "up").gauge().value())
        .isEqualTo(100);
    assertThat(registry.get("wharf.upstream.ratelimit.remaining").gauge().value()).isEqualTo(76);
  }
}
