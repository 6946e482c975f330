package io.wharf.core.peer;

import io.wharf.core.config.PeerConfig;
import io.wharf.core.config.WharfConfig;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who the peers are: the static members plus the addresses of the DNS name, re-resolved by {@link
 * #refresh()} (the caller schedules it; it blocks on DNS, so never on an event loop). This
 * instance is always a member: {@code peers.self} when configured, else the member whose port is
 * the listen port and whose address belongs to this host.
 */
public final class PeerSet {
  private static final Logger log = LoggerFactory.getLogger(PeerSet.class);

  /** DNS, replaceable in tests. */
  @FunctionalInterface
  public interface Resolver {
    InetAddress[] resolve(String name) throws UnknownHostException;
  }

  private final PeerConfig config;
  private final int listenPort;
  private final Resolver resolver;
  private final Set<String> aliases = ConcurrentHashMap.newKeySet();
  private volatile Peer self;
  private volatile List<Peer> members = List.of();

  public PeerSet(PeerConfig config, int listenPort, Resolver resolver) {
    this.config = config;
    this.listenPort = listenPort;
    this.resolver = resolver;
  }

  /** Resolves the DNS name (if any) and recomputes the member list; logs changes. */
  public void refresh() {
    Map<String, Peer> found = new LinkedHashMap<>();
    for (String m : config.members()) {
      found.put(m, Peer.of(m, config.scheme()));
    }
    if (config.dns() != null) {
      int port = config.dnsPort() != null ? config.dnsPort() : listenPort;
      try {
        for (InetAddress a : resolver.resolve(config.dns())) {
          String id = hostPort(a.getHostAddress(), port);
          found.putIfAbsent(id, Peer.of(id, config.scheme()));
        }
      } catch (UnknownHostException e) {
        if (members.isEmpty()) {
          log.warn("peers.dns {} does not resolve yet ({}); peers: static members only",
              config.dns(), e.getMessage());
        } else {
          // Keep the last answer: a DNS hiccup must not split the cache.
          log.warn("peers.dns {} did not resolve ({}); keeping the last member list",
              config.dns(), e.getMessage());
          return;
        }
      }
    }
    Peer me = self != null ? self : findSelf(found);
    found.putIfAbsent(me.id(), me);
    List<Peer> next = List.copyOf(found.values());
    List<Peer> before = members;
    self = me;
    members = next;
    if (!next.equals(before)) {
      log.info("peers: {} (this instance is {})", next, me);
    }
  }

  private Peer findSelf(Map<String, Peer> found) {
    if (config.self() != null) {
      return Peer.of(config.self(), config.scheme());
    }
    for (Peer p : found.values()) {
      WharfConfig.HostPort hp = WharfConfig.HostPort.parse(p.id(), "peer");
      if (hp.port() == listenPort && isLocal(hp.host())) {
        return p;
      }
    }
    String id;
    try {
      id = hostPort(InetAddress.getLocalHost().getHostAddress(), listenPort);
    } catch (UnknownHostException e) {
      id = hostPort("127.0.0.1", listenPort);
    }
    log.warn("peers: no member is this instance (port {} on a local address); calling it {}."
        + " Set peers.self to the host:port the other peers use for it", listenPort, id);
    return Peer.of(id, config.scheme());
  }

  private boolean isLocal(String host) {
    try {
      for (InetAddress a : resolver.resolve(host)) {
        if (a.isLoopbackAddress() || a.isAnyLocalAddress()
            || NetworkInterface.getByInetAddress(a) != null) {
          return true;
        }
      }
    } catch (UnknownHostException | SocketException e) {
      log.debug("peers: cannot tell whether {} is this host: {}", host, e.toString());
    }
    return false;
  }

  static String hostPort(String host, int port) {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }

  /** This instance. */
  public Peer self() {
    return self;
  }

  /** Every member, this instance included. */
  public List<Peer> members() {
    return members;
  }

  /** The others: members that are neither this instance nor known to be it. */
  public List<Peer> others() {
    List<Peer> out = new ArrayList<>();
    for (Peer p : members) {
      if (!isSelf(p)) {
        out.add(p);
      }
    }
    return out;
  }

  /** Whether {@code p} is this instance (or another name for it, learnt from a loop). */
  public boolean isSelf(Peer p) {
    return p.equals(self) || aliases.contains(p.id());
  }

  /**
   * Records that {@code p} is this instance under another name (a request to it came back
   * here): it is treated as this instance from now on.
   */
  void alias(Peer p) {
    if (aliases.add(p.id())) {
      log.warn("peers: {} is this instance ({}); set peers.self to the name the other peers use",
          p, self);
    }
  }
}
