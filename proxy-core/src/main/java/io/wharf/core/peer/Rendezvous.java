package io.wharf.core.peer;

import io.wharf.core.oci.Digest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Rendezvous (highest-random-weight) hashing of digests over peers: every peer gets a
 * pseudo-random score for every digest, and the highest score owns it. All peers that see the
 * same member list agree on the owner without talking to each other; a member joining takes only
 * the digests it now scores highest on, and a member leaving hands only its own digests to their
 * second-best peer. The full order is the fallback order when owners are down.
 *
 * <p>A forward always goes to a peer scoring strictly higher than the sender, so two peers with
 * different views of who is alive can never forward a digest in a circle.
 */
public final class Rendezvous {
  private Rendezvous() {}

  /** {@code peers} ordered best owner first for {@code digest} (ties broken by id). */
  public static List<Peer> order(Digest digest, Collection<Peer> peers) {
    long key = key(digest);
    List<Scored> scored = new ArrayList<>(peers.size());
    for (Peer p : peers) {
      scored.add(new Scored(p, score(p.id(), key)));
    }
    scored.sort((a, b) -> {
      int c = Long.compareUnsigned(b.score, a.score);
      return c != 0 ? c : a.peer.id().compareTo(b.peer.id());
    });
    List<Peer> out = new ArrayList<>(scored.size());
    scored.forEach(s -> out.add(s.peer));
    return out;
  }

  private record Scored(Peer peer, long score) {}

  /** The owner of {@code digest} among {@code peers} (not empty): the first of {@link #order}. */
  public static Peer owner(Digest digest, Collection<Peer> peers) {
    long key = key(digest);
    Peer best = null;
    long bestScore = 0;
    for (Peer p : peers) {
      long s = score(p.id(), key);
      int c = best == null ? 1 : Long.compareUnsigned(s, bestScore);
      if (c > 0 || (c == 0 && p.id().compareTo(best.id()) < 0)) {
        best = p;
        bestScore = s;
      }
    }
    if (best == null) {
      throw new IllegalArgumentException("no peers");
    }
    return best;
  }

  /** The digest's first 64 bits: a digest is already uniformly distributed. */
  static long key(Digest digest) {
    String hex = digest.hex();
    return Long.parseUnsignedLong(hex.substring(0, 16), 16);
  }

  static long score(String peerId, long key) {
    return mix(key ^ mix(fnv1a(peerId)));
  }

  private static long fnv1a(String s) {
    long h = 0xcbf29ce484222325L;
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= 0x100000001b3L;
    }
    return h;
  }

  /** SplitMix64's finalizer: a bijection that spreads every input bit over the output. */
  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }
}
