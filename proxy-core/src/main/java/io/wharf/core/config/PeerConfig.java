package io.wharf.core.config;

import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * Several Wharf instances sharing one logical cache: each blob digest is owned by one live peer
 * (rendezvous hashing), and a blob no local tier holds is fetched from its owner instead of the
 * upstream. See the README's "Peers vs hierarchy".
 *
 * @param self this instance as the other peers name it ({@code host:port}); when absent, the
 *     member whose port is the listen port and whose address is one of this host's is this
 *     instance
 * @param members static peers, {@code host:port} each (this instance may be among them)
 * @param dns a DNS name whose addresses are the peers (a Kubernetes headless Service), resolved
 *     at start and every {@code refresh}
 * @param dnsPort port of the peers found through {@code dns}; the listen port when absent
 * @param refresh how often {@code dns} is resolved again
 * @param token shared secret peers send in {@code Wharf-Peer-Token}; when set, a request that
 *     claims to come from a peer without it is refused (or {@code tokenFile}, {@code tokenEnv})
 * @param tokenFile file holding the token
 * @param tokenEnv environment variable holding the token
 * @param connectTimeout TCP/TLS connect timeout to a peer (also the health check's timeout)
 * @param timeout response-header and body-idle timeout of a blob request to a peer; longer than
 *     an upstream usually takes to answer, since a cold owner answers once its upstream has. A
 *     peer that misses either is marked down and the next owner (or the upstream) is asked
 * @param healthInterval how often every peer's {@code /readyz} is checked; a peer marked down
 *     comes back when a check passes
 * @param scheme {@code http} or {@code https} for peer requests; {@code https} when this
 *     instance serves TLS, else {@code http}, when absent
 */
public record PeerConfig(
    String self,
    List<String> members,
    String dns,
    Integer dnsPort,
    Duration refresh,
    String token,
    String tokenFile,
    String tokenEnv,
    Duration connectTimeout,
    Duration timeout,
    Duration healthInterval,
    String scheme) {

  PeerConfig withDefaults(boolean tls) {
    return new PeerConfig(
        self == null || self.isBlank() ? null : self.strip(),
        members == null ? List.of() : members.stream().map(String::strip).toList(),
        dns == null || dns.isBlank() ? null : dns.strip(),
        dnsPort,
        refresh == null ? Duration.ofSeconds(30) : refresh,
        token,
        tokenFile,
        tokenEnv,
        connectTimeout == null ? Duration.ofSeconds(2) : connectTimeout,
        timeout == null ? Duration.ofSeconds(30) : timeout,
        healthInterval == null ? Duration.ofSeconds(5) : healthInterval,
        scheme == null ? (tls ? "https" : "http") : scheme.toLowerCase(Locale.ROOT));
  }

  void validate() {
    if (members.isEmpty() && dns == null) {
      throw new ConfigException("peers: give members (host:port list) or dns (a name whose"
          + " addresses are the peers)");
    }
    for (int i = 0; i < members.size(); i++) {
      WharfConfig.HostPort.parse(members.get(i), "peers.members[" + i + "]");
    }
    if (self != null) {
      WharfConfig.HostPort.parse(self, "peers.self");
    }
    if (dnsPort != null && (dnsPort < 1 || dnsPort > 65535)) {
      throw new ConfigException("peers.dnsPort must be between 1 and 65535");
    }
    if (!(scheme.equals("http") || scheme.equals("https"))) {
      throw new ConfigException("peers.scheme: '" + scheme + "' must be http or https");
    }
    positive("peers.refresh", refresh);
    positive("peers.connectTimeout", connectTimeout);
    positive("peers.timeout", timeout);
    positive("peers.healthInterval", healthInterval);
  }

  private static void positive(String key, Duration d) {
    if (d.isNegative() || d.isZero()) {
      throw new ConfigException(key + " must be positive");
    }
  }

  /** The shared peer token, or null for none; reads the file or variable. */
  public String resolveToken(java.util.Map<String, String> env) {
    return Credentials.resolveToken("peers", token, tokenFile, tokenEnv, env);
  }

  @Override
  public String toString() {
    return "PeerConfig[self=" + self + ", members=" + members + ", dns=" + dns + ", dnsPort="
        + dnsPort + ", refresh=" + refresh + ", token="
        + (token == null && tokenFile == null && tokenEnv == null ? "none" : "****")
        + ", connectTimeout=" + connectTimeout + ", timeout=" + timeout + ", healthInterval=" + healthInterval + ", scheme=" + scheme
        + "]";
  }
}
