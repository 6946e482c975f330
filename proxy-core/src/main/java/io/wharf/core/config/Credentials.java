package io.wharf.core.config;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * How Wharf authenticates to one upstream. Each secret can be written inline, read from a file
 * ({@code *File}) or from an environment variable ({@code *Env}). {@link #toString()} never shows a
 * secret.
 *
 * @param username user for Basic auth and the token endpoint
 * @param password password (or personal access token) for that user
 * @param token a static Bearer token sent as is (no token flow)
 */
@JsonIgnoreProperties(ignoreUnknown = false)
public record Credentials(
    String username,
    String usernameEnv,
    String password,
    String passwordFile,
    String passwordEnv,
    String token,
    String tokenFile,
    String tokenEnv) {

  public static final Credentials NONE = new Credentials(null, null, null, null, null, null, null, null);

  /** Username/password pair. */
  public static Credentials basic(String username, String password) {
    return new Credentials(username, null, password, null, null, null, null, null);
  }

  /** Resolves files and environment variables into the secrets to use. */
  public Resolved resolve(Map<String, String> env) {
    String user = pick(username, null, usernameEnv, env, "username");
    String pass = pick(password, passwordFile, passwordEnv, env, "password");
    String tok = pick(token, tokenFile, tokenEnv, env, "token");
    if (pass != null && user == null) {
      throw new ConfigException("credentials: a password needs a username");
    }
    return new Resolved(user, pass, tok);
  }

  /**
   * A lone secret (admin token, peer token) given inline, from a file or from an environment
   * variable; null when none is given. Errors name {@code key} ({@code admin}, {@code peers}).
   */
  static String resolveToken(String key, String token, String tokenFile, String tokenEnv,
      Map<String, String> env) {
    try {
      return pick(token, tokenFile, tokenEnv, env, "token");
    } catch (ConfigException e) {
      throw new ConfigException(key + "." + e.getMessage().replaceFirst("^credentials: ", ""));
    }
  }

  private static String pick(
      String inline, String file, String envName, Map<String, String> env, String what) {
    int set = (inline != null ? 1 : 0) + (file != null ? 1 : 0) + (envName != null ? 1 : 0);
    if (set > 1) {
      throw new ConfigException("credentials: give " + what + " only one way (inline, file or env)");
    }
    if (inline != null) {
      return inline;
    }
    if (file != null) {
      try {
        return Files.readString(Path.of(file), StandardCharsets.UTF_8).strip();
      } catch (IOException e) {
        throw new ConfigException("credentials: cannot read " + what + " file " + file + ": " + e);
      }
    }
    if (envName != null) {
      String v = env.get(envName);
      if (v == null) {
        throw new ConfigException(
            "credentials: environment variable " + envName + " (" + what + ") is not set");
      }
      return v;
    }
    return null;
  }

  @com.fasterxml.jackson.annotation.JsonIgnore
  public boolean isEmpty() {
    return equals(NONE);
  }

  @Override
  public String toString() {
    return isEmpty() ? "none" : "Credentials[username=" + username + ", secrets=****]";
  }

  /** Secrets ready to use; {@code toString} masks them. */
  public record Resolved(String username, String password, String token) {
    public static final Resolved ANONYMOUS = new Resolved(null, null, null);

    public boolean hasBasic() {
      return username != null && password != null;
    }

    @Override
    public String toString() {
      return "Resolved[username=" + username + ", password=" + (password == null ? "none" : "****")
          + ", token=" + (token == null ? "none" : "****") + "]";
    }
  }
}
