package io.wharf.core.peer;

import static org.assertj.core.api.Assertions.assertThat;

import io.wharf.core.oci.Digest;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RendezvousTest {
  private static final int DIGESTS = 20_000;

  private static final List<Digest> ALL = new ArrayList<>();

  static {
    for (int i = 0; i < DIGESTS; i++) {
      ALL.add(Digest.sha256Of(ByteBuffer.allocate(4).putInt(i).array()));
    }
  }

  private static List<Digest> digests() {
    return ALL;
  }

  private static List<Peer> peers(int n) {
    List<Peer> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(Peer.of("10.0.0." + (i + 1) + ":5000", "http"));
    }
    return out;
  }

  private static Map<Digest, Peer> owners(List<Digest> ds, List<Peer> ps) {
    Map<Digest, Peer> m = new HashMap<>();
    ds.forEach(d -> m.put(d, Rendezvous.owner(d, ps)));
    return m;
  }

  @Test
  void owner_manyDigests_spreadEvenlyOverPeers() {
    for (int n : new int[] {2, 3, 10}) {
      Map<Peer, Integer> counts = new HashMap<>();
      owners(digests(), peers(n)).values().forEach(p -> counts.merge(p, 1, Integer::sum));
      assertThat(counts).hasSize(n);
      double fair = (double) DIGESTS / n;
      assertThat(counts.values()).allSatisfy(c ->
          assertThat((double) c).isBetween(fair * 0.9, fair * 1.1));
    }
  }

  @Test
  void owner_sameInput_sameAnswerRegardlessOfListOrder() {
    List<Peer> ps = peers(5);
    List<Peer> reversed = new ArrayList<>(ps);
    java.util.Collections.reverse(reversed);
    for (Digest d : digests().subList(0, 1000)) {
      assertThat(Rendezvous.owner(d, reversed)).isEqualTo(Rendezvous.owner(d, ps));
      assertThat(Rendezvous.order(d, reversed)).isEqualTo(Rendezvous.order(d, ps));
      assertThat(Rendezvous.order(d, ps).get(0)).isEqualTo(Rendezvous.owner(d, ps));
    }
  }

  @Test
  void owner_peerJoins_onlyDigestsItNowOwnsMove() {
    List<Digest> ds = digests();
    List<Peer> three = peers(3);
    List<Peer> four = peers(4);
    Peer joined = four.get(3);
    Map<Digest, Peer> before = owners(ds, three);
    Map<Digest, Peer> after = owners(ds, four);
    int moved = 0;
    for (Digest d : ds) {
      if (!before.get(d).equals(after.get(d))) {
        moved++;
        assertThat(after.get(d)).isEqualTo(joined);
      }
    }
    assertThat((double) moved).isBetween(DIGESTS / 4 * 0.9, DIGESTS / 4 * 1.1);
  }

  @Test
  void owner_peerLeaves_onlyItsDigestsMoveToTheirSecondChoice() {
    List<Digest> ds = digests();
    List<Peer> three = peers(3);
    Peer gone = three.get(1);
    List<Peer> two = List.of(three.get(0), three.get(2));
    for (Digest d : ds) {
      List<Peer> order = Rendezvous.order(d, three);
      Peer now = Rendezvous.owner(d, two);
      if (order.get(0).equals(gone)) {
        assertThat(now).isEqualTo(order.get(1));
      } else {
        assertThat(now).isEqualTo(order.get(0));
      }
    }
  }
}
