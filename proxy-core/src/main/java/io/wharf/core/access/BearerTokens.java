package io.wharf.core.access;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.LongSupplier;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Bearer tokens Wharf issues from its token endpoint (Docker token-auth style) and accepts on the
 * registry API. A token is {@code w1.<payload>.<mac>}: base64url JSON {@code {"u": upstream,
 * "sub": user, "r": [repositories], "iat", "exp"}} and an HMAC-SHA256 over {@code w1.<payload>}.
 * It is valid for one upstream (the realm the client was sent to names it, since containerd's
 * scope does not carry {@code ns}) and for the repositories of its pull scopes. The key comes
 * from config or is random per start: then tokens die with the process and each instance of a
 * group has its own (clients just fetch a new token on the next 401).
 */
public final class BearerTokens {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String PREFIX = "w1.";
  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

  /** What a valid token says. */
  public record Claims(String upstream, String user, Set<String> repositories, long issuedAt,
      long expiresAt) {
    /** True if the token's scopes allow pulling {@code repository}. */
    public boolean allows(String repository) {
      return repositories.contains(repository);
    }
  }

  private final byte[] key;
  private final long ttlSeconds;
  private final LongSupplier clockMillis;

  /**
   * @param key HMAC key (at least 32 bytes), or null for a random one
   */
  public BearerTokens(byte[] key, java.time.Duration ttl, LongSupplier clockMillis) {
    if (key == null) {
      key = new byte[32];
      new SecureRandom().nextBytes(key);
    }
    if (key.length < 32) {
      throw new IllegalArgumentException("token key must be at least 32 bytes");
    }
    this.key = key.clone();
    this.ttlSeconds = Math.max(1, ttl.toSeconds());
    this.clockMillis = clockMillis;
  }

  public long ttlSeconds() {
    return ttlSeconds;
  }

  /** A token for {@code user} to pull {@code repositories} through {@code upstream}. */
  public String issue(String upstream, String user, List<String> repositories) {
    long now = clockMillis.getAsLong() / 1000;
    ObjectNode p = JSON.createObjectNode();
    p.put("u", upstream);
    p.put("sub", user);
    repositories.forEach(p.putArray("r")::add);
    p.put("iat", now);
    p.put("exp", now + ttlSeconds);
    String body;
    try {
      body = PREFIX + B64.encodeToString(JSON.writeValueAsBytes(p));
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
    return body + "." + B64.encodeToString(mac(body));
  }

  /** The claims of a genuine, unexpired token, or null. */
  public Claims verify(String token) {
    if (token == null || !token.startsWith(PREFIX) || token.length() > 16_384) {
      return null;
    }
    int dot = token.lastIndexOf('.');
    if (dot <= PREFIX.length()) {
      return null;
    }
    String body = token.substring(0, dot);
    try {
      byte[] given = Base64.getUrlDecoder().decode(token.substring(dot + 1));
      if (!MessageDigest.isEqual(given, mac(body))) {
        return null;
      }
      JsonNode p = JSON.readTree(Base64.getUrlDecoder().decode(body.substring(PREFIX.length())));
      long exp = p.path("exp").asLong(0);
      if (clockMillis.getAsLong() / 1000 >= exp) {
        return null;
      }
      Set<String> repos = new LinkedHashSet<>();
      p.path("r").forEach(n -> repos.add(n.asText()));
      return new Claims(p.path("u").asText(), p.path("sub").asText(), repos,
          p.path("iat").asLong(), exp);
    } catch (IllegalArgumentException | java.io.IOException e) {
      return null;
    }
  }

  /**
   * The repositories that {@code scopes} ask to pull: each scope is {@code
   * repository:<name>:<actions>} (several may be space-separated, as OAuth2 sends them); only
   * those whose actions include {@code pull} count (Wharf is read-only).
   */
  public static List<String> pullRepositories(List<String> scopes) {
    List<String> out = new ArrayList<>();
    for (String s : scopes) {
      for (String one : s.trim().split("\\s+")) {
        if (!one.startsWith("repository:")) {
          continue;
        }
        int last = one.lastIndexOf(':');
        if (last <= "repository:".length()) {
          continue;
        }
        String name = one.substring("repository:".length(), last);
        for (String action : one.substring(last + 1).split(",")) {
          if (action.equals("pull") || action.equals("*")) {
            out.add(name);
            break;
          }
        }
      }
    }
    return out;
  }

  private byte[] mac(String body) {
    try {
      Mac m = Mac.getInstance("HmacSHA256");
      m.init(new SecretKeySpec(key, "HmacSHA256"));
      return m.doFinal(body.getBytes(StandardCharsets.US_ASCII));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
