package io.wharf.core.peer;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which peers are up. A peer is up until a request to it fails at the transport level (refused,
 * timed out, reset) or a health check fails; it is down until a health check passes. Checks run
 * every {@code healthInterval} (scheduled by {@link Peers}); marking down is immediate, so a dead
 * peer costs at most one failed request per fetch that was already choosing it.
 */
public final class PeerHealth {
  private static final Logger log = LoggerFactory.getLogger(PeerHealth.class);

  private final Map<String, String> down = new ConcurrentHashMap<>();
  private final Function<Peer, CompletableFuture<Boolean>> probe;

  /** @param probe whether a peer answers its readiness check (completes, never fails) */
  PeerHealth(Function<Peer, CompletableFuture<Boolean>> probe) {
    this.probe = probe;
  }

  public boolean isUp(Peer p) {
    return !down.containsKey(p.id());
  }

  /** Marks {@code p} down until a health check passes. */
  public void markDown(Peer p, String why) {
    if (down.put(p.id(), why) == null) {
      log.warn("peer {} marked down: {}", p, why);
    }
  }

  void markUp(Peer p) {
    if (down.remove(p.id()) != null) {
      log.info("peer {} is up again", p);
    }
  }

  /** Probes every peer in {@code others}; the future completes when all have answered. */
  CompletableFuture<Void> check(Iterable<Peer> others) {
    java.util.List<CompletableFuture<?>> all = new java.util.ArrayList<>();
    for (Peer p : others) {
      all.add(probe.apply(p).thenAccept(ok -> {
        if (ok) {
          markUp(p);
        } else {
          markDown(p, "health check failed");
        }
      }));
    }
    return CompletableFuture.allOf(all.toArray(new CompletableFuture<?>[0]));
  }

  /** How many of {@code members} are up. */
  int upCount(Iterable<Peer> members) {
    int n = 0;
    for (Peer p : members) {
      if (isUp(p)) {
        n++;
      }
    }
    return n;
  }

  /** Forgets peers that are no longer members. */
  void retain(java.util.Collection<Peer> members) {
    java.util.Set<String> ids = new java.util.HashSet<>();
    members.forEach(p -> ids.add(p.id()));
    down.keySet().retainAll(ids);
  }
}
