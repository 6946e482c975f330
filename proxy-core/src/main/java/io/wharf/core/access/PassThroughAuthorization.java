package io.wharf.core.access;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;
import io.wharf.core.access.AccessControl.Decision;
import io.wharf.core.access.AccessControl.Outcome;
import io.wharf.core.config.UpstreamConfig;
import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.oci.Digest;
import io.wharf.core.oci.ErrorCode;
import io.wharf.core.oci.RegistryException;
import io.wharf.core.upstream.RegistryClient.PullCheck;
import io.wharf.core.upstream.UpstreamRouter.Routed;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

/**
 * Pass-through mode ({@code access.passThrough}): a client may pull repository R of upstream U
 * only after U has confirmed, with the client's own credentials, that they may pull R.
 *
 * <h2>Design</h2>
 *
 * <ul>
 *   <li><b>Key</b>: (U, R as U names it, SHA-256 of the client's {@code Authorization} value). The
 *       raw header is never stored; it lives only in the request and the confirmation it starts.
 *   <li><b>Cache</b>: an upstream yes is remembered for the upstream's {@code passThroughTtl}, a
 *       no (401/403/404 from U) for at most {@link #MAX_DENIED_TTL}; reads do not extend either.
 *       Transport failures are not remembered: the client gets 503 and the next request asks
 *       again. So content is never served to a client without a confirmation younger than the
 *       TTL; an unreachable upstream means 503 once the confirmation has expired.
 *   <li><b>Single flight</b>: confirmations live in a Caffeine {@link AsyncCache}, so concurrent
 *       requests with the same key share one upstream check.
 *   <li>The check itself is {@link io.wharf.core.upstream.RegistryClient#checkPullAs}; it runs on
 *       the upstream client's executor, never an event loop.
 * </ul>
 */
public final class PassThroughAuthorization {
  /** The longest an upstream "no" is remembered. */
  public static final Duration MAX_DENIED_TTL = Duration.ofSeconds(10);

  private record Key(String upstream, String repository, String credentials) {}

  /** A check's answer, or the failure every waiter shares (kept out of Caffeine's failure log). */
  private record Loaded(PullCheck answer, Throwable failure) {}

  private final Map<String, Duration> ttls = new HashMap<>();
  private final WharfMeters meters;
  private final AsyncCache<Key, Loaded> confirmations;

  public PassThroughAuthorization(List<UpstreamConfig> upstreams, WharfMeters meters,
      Executor executor, Ticker ticker) {
    for (UpstreamConfig u : upstreams) {
      UpstreamConfig d = u.withDefaults();
      ttls.put(d.name(), d.access().passThroughTtl());
    }
    this.meters = meters;
    this.confirmations = Caffeine.newBuilder()
        .executor(executor)
        .ticker(ticker)
        .maximumSize(100_000)
        .expireAfter(Expiry.<Key, Loaded>writing((k, l) -> ttl(k.upstream(), l.answer())))
        .buildAsync();
  }

  private Duration ttl(String upstream, PullCheck answer) {
    if (answer == null) {
      return Duration.ZERO;
    }
    Duration ttl = ttls.getOrDefault(upstream, io.wharf.core.config.AccessConfig.DEFAULT_PASS_THROUGH_TTL);
    return answer == PullCheck.ALLOWED || ttl.compareTo(MAX_DENIED_TTL) < 0 ? ttl : MAX_DENIED_TTL;
  }

  /**
   * May the client sending Basic {@code authorization} (as user {@code user}) pull {@code r}'s
   * repository? Fails with 503 UNAVAILABLE when the upstream cannot answer.
   */
  public CompletableFuture<Decision> check(Routed r, String authorization, String user) {
    String repo = r.repository().value();
    Key key = new Key(r.upstream(), repo,
        Digest.sha256Of(authorization.getBytes(StandardCharsets.UTF_8)).hex());
    boolean[] asked = {false};
    CompletableFuture<Loaded> f = confirmations.get(key, (k, executor) -> {
      asked[0] = true;
      return r.client().checkPullAs(r.repository(), authorization)
          .handle((answer, err) -> new Loaded(answer, err));
    });
    String source = asked[0] ? "upstream" : "cache";
    return f.thenApply(l -> {
      if (l.failure() != null) {
        confirmations.asMap().remove(key, f);
        meters.passThroughAuth(r.upstream(), "error", source);
        Throwable t = l.failure() instanceof CompletionException ce && ce.getCause() != null
            ? ce.getCause() : l.failure();
        throw new RegistryException(ErrorCode.UNAVAILABLE, 503, "pass-through: " + r.upstream()
            + " could not confirm that this client may pull " + repo + " (" + t.getMessage()
            + "); nothing is served without that confirmation", t);
      }
      return switch (l.answer()) {
        case ALLOWED -> {
          meters.passThroughAuth(r.upstream(), "allowed", source);
          yield new Decision(Outcome.ALLOWED, user, "pass-through: " + r.upstream()
              + " confirmed pull of " + repo + " (" + source + ")");
        }
        case DENIED -> {
          meters.passThroughAuth(r.upstream(), "denied", source);
          yield new Decision(Outcome.FORBIDDEN, user, "pass-through: " + r.upstream()
              + " refuses these credentials for " + repo);
        }
        case NOT_FOUND -> {
          meters.passThroughAuth(r.upstream(), "not_found", source);
          yield new Decision(Outcome.FORBIDDEN, user, "pass-through: " + r.upstream()
              + " does not show repository " + repo + " to these credentials");
        }
      };
    });
  }
}
