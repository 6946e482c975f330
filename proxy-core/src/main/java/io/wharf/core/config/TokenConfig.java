package io.wharf.core.config;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;

/**
 * Bearer tokens issued by Wharf's token endpoint (for upstreams with {@code access.bearer}).
 *
 * @param ttl how long a token is valid (default 15 minutes)
 * @param key HMAC-SHA256 signing key, base64, at least 32 bytes (or {@code keyFile}/{@code
 *     keyEnv}); absent means a random key per start: tokens then die with the process and are
 *     not valid on other instances (clients fetch a new one on the next 401)
 * @param keyFile file holding the base64 key
 * @param keyEnv environment variable holding the base64 key
 */
public record TokenConfig(Duration ttl, String key, String keyFile, String keyEnv) {

  public static final TokenConfig DEFAULTS = new TokenConfig(null, null, null, null).withDefaults();

  public TokenConfig withDefaults() {
    return new TokenConfig(ttl == null ? Duration.ofMinutes(15) : ttl, key, keyFile, keyEnv);
  }

  void validate() {
    if (ttl.isNegative() || ttl.isZero()) {
      throw new ConfigException("server.tokens.ttl must be positive");
    }
    resolveKey(System.getenv());
  }

  /** The signing key, or null for a random one per start. */
  public byte[] resolveKey(Map<String, String> env) {
    Credentials c = new Credentials(null, null, null, null, null, key, keyFile, keyEnv);
    String text;
    try {
      text = c.resolve(env).token();
    } catch (ConfigException e) {
      throw new ConfigException("server.tokens." + e.getMessage().replaceFirst("^credentials: ", ""));
    }
    if (text == null) {
      return null;
    }
    byte[] k;
    try {
      k = Base64.getDecoder().decode(text.strip().getBytes(StandardCharsets.US_ASCII));
    } catch (IllegalArgumentException e) {
      throw new ConfigException("server.tokens.key must be base64 (e.g. openssl rand -base64 32)");
    }
    if (k.length < 32) {
      throw new ConfigException("server.tokens.key must decode to at least 32 bytes");
    }
    return k;
  }
}
