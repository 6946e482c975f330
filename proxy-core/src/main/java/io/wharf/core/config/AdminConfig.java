package io.wharf.core.config;

/**
 * The admin listener: {@code /metrics}, {@code /healthz}, {@code /readyz} on their own address,
 * away from the registry port.
 *
 * @param listen {@code host:port}; loopback by default
 * @param token when set (or {@code tokenFile}/{@code tokenEnv}), admin requests other than the
 *     health probes need {@code Authorization: Bearer <token>}
 * @param tokenFile file holding the token
 * @param tokenEnv environment variable holding the token
 * @param metricsOnMainPort whether {@code /metrics} is also served on the registry port
 */
public record AdminConfig(
    String listen, String token, String tokenFile, String tokenEnv, Boolean metricsOnMainPort) {

  public static final String DEFAULT_LISTEN = "127.0.0.1:5001";

  public AdminConfig withDefaults() {
    return new AdminConfig(listen == null ? DEFAULT_LISTEN : listen, token, tokenFile, tokenEnv,
        metricsOnMainPort == null ? Boolean.TRUE : metricsOnMainPort);
  }

  void validate() {
    WharfConfig.HostPort.parse(listen, "admin.listen");
    resolveToken(System.getenv());
  }

  /** The token to require, or null for none; reads the file or variable. */
  public String resolveToken(java.util.Map<String, String> env) {
    return Credentials.resolveToken("admin", token, tokenFile, tokenEnv, env);
  }
}
