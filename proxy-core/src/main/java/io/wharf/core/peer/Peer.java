package io.wharf.core.peer;

import java.net.URI;

/**
 * One member of the peer set.
 *
 * @param id {@code host:port} as the peers name it; rendezvous scores hash this, so every peer
 *     must spell a member the same way
 * @param base the member's registry URL ({@code http://host:port})
 */
public record Peer(String id, URI base) {

  static Peer of(String hostPort, String scheme) {
    String authority = hostPort;
    int colon = hostPort.lastIndexOf(':');
    String host = hostPort.substring(0, colon);
    if (host.contains(":") && !host.startsWith("[")) {
      authority = "[" + host + "]" + hostPort.substring(colon);
    }
    return new Peer(hostPort, URI.create(scheme + "://" + authority));
  }

  @Override
  public String toString() {
    return id;
  }
}
