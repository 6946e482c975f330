package io.wharf.core.access;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.wharf.core.config.AccessConfig;
import io.wharf.core.config.UpstreamConfig;
import io.wharf.core.oci.Digest;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * Decides whether a client may pull through an upstream: its address must be in the upstream's
 * {@code allow} networks (when any are set), and, when the upstream has an htpasswd file, it must
 * send valid Basic credentials. bcrypt checks run on the given executor, never an event loop; a
 * success is remembered for a short while (keyed by a hash of the credentials, never the
 * password itself) so a node pulling 30 layers pays for one check.
 */
public final class AccessControl {

  /** What the server answers. */
  public enum Outcome {
    ALLOWED,
    /** 401 with a Basic challenge. */
    NEED_AUTH,
    /** 403: the client's network may not use this upstream. */
    FORBIDDEN,
    /** 503: too many password checks are waiting (a flood of logins); retry shortly. */
    BUSY
  }

  /** A decision, with the authenticated user (or null) and why, for the log. */
  public record Decision(Outcome outcome, String user, String reason) {
    static final Decision OPEN = new Decision(Outcome.ALLOWED, null, "open");
  }

  private record Policy(List<Cidr> allow, Htpasswd users, boolean bearer, boolean passThrough) {
    boolean open() {
      return allow.isEmpty() && users == null && !passThrough;
    }
  }

  private final Map<String, Policy> byUpstream = new LinkedHashMap<>();
  private final Executor executor;
  private final BearerTokens tokens;
  private final PassThroughAuthorization passThrough;
  private final Cache<String, Boolean> recent =
      Caffeine.newBuilder().expireAfterWrite(Duration.ofMinutes(5)).maximumSize(10_000).build();
  /**
   * Credentials that failed a moment ago: repeating a wrong password costs no bcrypt (which is
   * deliberately slow) for this long, so a client retrying in a loop cannot keep the checker busy.
   */
  private final Cache<String, Boolean> failed =
      Caffeine.newBuilder().expireAfterWrite(Duration.ofSeconds(10)).maximumSize(10_000).build();

  public AccessControl(List<UpstreamConfig> upstreams, Executor executor) {
    this(upstreams, executor, new BearerTokens(null, Duration.ofMinutes(15), System::currentTimeMillis));
  }

  /** With the issuer of Wharf's own Bearer tokens (for upstreams with {@code access.bearer}). */
  public AccessControl(List<UpstreamConfig> upstreams, Executor executor, BearerTokens tokens) {
    this(upstreams, executor, tokens, new PassThroughAuthorization(upstreams,
        io.wharf.core.metrics.WharfMeters.noop(), executor,
        com.github.benmanes.caffeine.cache.Ticker.systemTicker()));
  }

  /** With the pass-through confirmations (for upstreams with {@code access.passThrough}). */
  public AccessControl(List<UpstreamConfig> upstreams, Executor executor, BearerTokens tokens,
      PassThroughAuthorization passThrough) {
    this.executor = executor;
    this.tokens = tokens;
    this.passThrough = passThrough;
    for (UpstreamConfig u : upstreams) {
      AccessConfig a = u.access();
      byUpstream.put(u.name(), new Policy(
          a.allow().stream().map(Cidr::parse).toList(),
          a.htpasswd() == null ? null : new Htpasswd(Path.of(a.htpasswd())),
          Boolean.TRUE.equals(a.bearer()), Boolean.TRUE.equals(a.passThrough())));
    }
  }

  /** True if {@code upstream} challenges clients with Bearer (Wharf's token endpoint). */
  public boolean usesBearer(String upstream) {
    Policy p = byUpstream.get(upstream);
    return p != null && p.bearer();
  }

  /** The token issuer. */
  public BearerTokens tokens() {
    return tokens;
  }

  /** A token and its lifetime, or why none was issued. */
  public record Issued(String token, long expiresIn, Decision decision) {}

  /**
   * Issues a token for {@code upstream} to a client that proves itself with Basic {@code
   * authorization} (and comes from an allowed network), valid for the repositories {@code scopes}
   * ask to pull. Null when {@code upstream} does not use Bearer tokens.
   */
  public CompletableFuture<Issued> issue(String upstream, InetAddress client, String authorization,
      List<String> scopes) {
    if (!usesBearer(upstream)) {
      return CompletableFuture.completedFuture(null);
    }
    String basic = authorization != null && authorization.regionMatches(true, 0, "Basic ", 0, 6)
        ? authorization : null;
    return check(upstream, client, basic, null).thenApply(d -> d.outcome() != Outcome.ALLOWED
        ? new Issued(null, 0, d)
        : new Issued(tokens.issue(upstream, d.user(), BearerTokens.pullRepositories(scopes)),
            tokens.ttlSeconds(), d));
  }

  /** True when no upstream restricts anyone: every check is a no-op. */
  public boolean allOpen() {
    return byUpstream.values().stream().allMatch(Policy::open);
  }

  /** The Basic realm clients are challenged with for {@code upstream}. */
  public static String realm(String upstream) {
    return "wharf " + upstream;
  }

  /** May {@code client}, sending {@code authorization} (or null), pull through {@code upstream}? */
  public CompletableFuture<Decision> check(String upstream, InetAddress client, String authorization) {
    return check(upstream, client, authorization, null);
  }

  /**
   * As {@link #check(String, InetAddress, String, String)}, and for an upstream in pass-through
   * mode also confirmed by the upstream with the client's own credentials for {@code r}'s
   * repository (see {@link PassThroughAuthorization}).
   */
  public CompletableFuture<Decision> check(io.wharf.core.upstream.UpstreamRouter.Routed r,
      InetAddress client, String authorization, String repository) {
    CompletableFuture<Decision> d = check(r.upstream(), client, authorization, repository);
    Policy p = byUpstream.get(r.upstream());
    if (p == null || !p.passThrough()) {
      return d;
    }
    return d.thenCompose(first -> first.outcome() != Outcome.ALLOWED
        ? CompletableFuture.completedFuture(first)
        : passThrough.check(r, authorization.trim(), first.user()));
  }

  /**
   * As {@link #check(String, InetAddress, String)}, for {@code repository} as the client names
   * it (a Bearer token must cover it; null: any valid token for the upstream will do).
   */
  public CompletableFuture<Decision> check(String upstream, InetAddress client, String authorization,
      String repository) {
    Policy p = byUpstream.get(upstream);
    if (p == null || p.open()) {
      return CompletableFuture.completedFuture(Decision.OPEN);
    }
    if (!p.allow().isEmpty() && p.allow().stream().noneMatch(c -> c.contains(client))) {
      return CompletableFuture.completedFuture(new Decision(Outcome.FORBIDDEN, null,
          "client address " + client.getHostAddress() + " is not in the allowed networks"));
    }
    if (p.passThrough()) {
      // Credentials of the upstream itself: only their presence is checked here; the upstream
      // judges them per repository (check(Routed, ...)).
      String[] creds = basic(authorization);
      return CompletableFuture.completedFuture(creds == null
          ? new Decision(Outcome.NEED_AUTH, null, "no credentials (pass-through)")
          : new Decision(Outcome.ALLOWED, creds[0], "credentials present (pass-through)"));
    }
    if (p.users() == null) {
      return CompletableFuture.completedFuture(new Decision(Outcome.ALLOWED, null, "network"));
    }
    if (p.bearer() && authorization != null
        && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return CompletableFuture.completedFuture(bearer(upstream, authorization.substring(7).trim(),
          repository));
    }
    String[] creds = basic(authorization);
    if (creds == null) {
      return CompletableFuture.completedFuture(
          new Decision(Outcome.NEED_AUTH, null, "no credentials"));
    }
    String key = upstream + "\n" + creds[0] + "\n"
        + Digest.sha256Of(creds[1].getBytes(StandardCharsets.UTF_8)).hex();
    if (recent.getIfPresent(key) != null) {
      return CompletableFuture.completedFuture(new Decision(Outcome.ALLOWED, creds[0], "cached"));
    }
    if (failed.getIfPresent(key) != null) {
      return CompletableFuture.completedFuture(
          new Decision(Outcome.NEED_AUTH, creds[0], "wrong user or password (failed moments ago)"));
    }
    try {
      return CompletableFuture.supplyAsync(() -> {
        if (p.users().check(creds[0], creds[1])) {
          recent.put(key, Boolean.TRUE);
          return new Decision(Outcome.ALLOWED, creds[0], "password");
        }
        failed.put(key, Boolean.TRUE);
        return new Decision(Outcome.NEED_AUTH, creds[0], "wrong user or password");
      }, executor);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      return CompletableFuture.completedFuture(
          new Decision(Outcome.BUSY, creds[0], "too many password checks waiting"));
    }
  }

  private Decision bearer(String upstream, String token, String repository) {
    BearerTokens.Claims c = tokens.verify(token);
    if (c == null) {
      return new Decision(Outcome.NEED_AUTH, null, "invalid or expired Bearer token");
    }
    if (!c.upstream().equals(upstream)) {
      return new Decision(Outcome.NEED_AUTH, c.user(),
          "Bearer token was issued for upstream " + c.upstream() + ", not " + upstream);
    }
    if (repository != null && !c.allows(repository)) {
      return new Decision(Outcome.NEED_AUTH, c.user(),
          "Bearer token does not cover repository " + repository);
    }
    return new Decision(Outcome.ALLOWED, c.user(), "token");
  }

  /**
   * For {@code GET /v2/}, which names no upstream: allowed when any upstream would allow the
   * client (so clients that must authenticate get a challenge here first, as they expect).
   */
  public CompletableFuture<Decision> checkAny(InetAddress client, String authorization) {
    if (allOpen()) {
      return CompletableFuture.completedFuture(Decision.OPEN);
    }
    CompletableFuture<Decision> result = CompletableFuture.completedFuture(
        new Decision(Outcome.FORBIDDEN, null, "no upstream allows this client"));
    for (String upstream : byUpstream.keySet()) {
      result = result.thenCompose(best -> best.outcome() == Outcome.ALLOWED
          ? CompletableFuture.completedFuture(best)
          : check(upstream, client, authorization).thenApply(d ->
              d.outcome() == Outcome.ALLOWED || best.outcome() == Outcome.FORBIDDEN ? d : best));
    }
    return result;
  }

  /** The first upstream that wants Basic auth (its realm goes in the /v2/ challenge), or null. */
  public String firstAuthenticatedUpstream() {
    return byUpstream.entrySet().stream()
        .filter(e -> e.getValue().users() != null || e.getValue().passThrough())
        .map(Map.Entry::getKey).findFirst().orElse(null);
  }

  private static String[] basic(String authorization) {
    if (authorization == null || !authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
      return null;
    }
    try {
      String decoded = new String(Base64.getDecoder().decode(authorization.substring(6).trim()),
          StandardCharsets.UTF_8);
      int colon = decoded.indexOf(':');
      return colon <= 0 ? null : new String[] {decoded.substring(0, colon), decoded.substring(colon + 1)};
    } catch (IllegalArgumentException e) {
      return null;
    }
  }
}
