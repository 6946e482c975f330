package io.wharf.core.store;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import io.wharf.core.oci.Digest;
import io.wharf.core.testing.TestImages;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Why the tier indexes are not Caffeine caches ({@link LruIndex} explains the choice): two ways
 * its policy fights a blob store, pinned down so that a Caffeine upgrade that changes them shows
 * up here, and the same scenario against {@link LruIndex}.
 */
class CaffeineIndexFindingsTest {

  @Test
  void caffeineAdmission_evictsTheBlobJustWritten_inFavourOfOftenReadOnes() {
    Cache<Integer, Integer> tier = Caffeine.newBuilder()
        .executor(Runnable::run)
        .maximumWeight(100) // "KiB"
        .<Integer, Integer>weigher((k, v) -> v)
        .build();
    for (int i = 0; i < 10; i++) {
      tier.put(i, 10);
    }
    for (int round = 0; round < 5; round++) {
      for (int i = 0; i < 10; i++) {
        tier.getIfPresent(i);
      }
    }
    tier.put(100, 10); // a blob just fetched, that every node is about to pull
    tier.cleanUp();
    assertThat(tier.getIfPresent(100))
        .as("W-TinyLFU rejects the newcomer: its frequency (1) loses to the victim's")
        .isNull();
  }

  @Test
  void lruIndex_sameScenario_keepsTheBlobJustWritten() {
    LruIndex tier = new LruIndex(100);
    List<LruIndex.Entry> victims = new ArrayList<>();
    List<Digest> ds = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      Digest d = Digest.sha256Of(TestImages.bytes(i, 8));
      ds.add(d);
      tier.add(d, 10, 0, i, victims);
    }
    for (int round = 0; round < 5; round++) {
      for (Digest d : ds) {
        tier.hit(d, 100 + round, Long.MAX_VALUE);
      }
    }
    Digest fresh = Digest.sha256Of(new byte[] {42});
    assertThat(tier.reserve(10)).extracting(v -> v.digest).containsExactly(ds.get(0));
    tier.add(fresh, 10, 10, 200, victims);
    assertThat(tier.contains(fresh)).isTrue();
    assertThat(tier.state(ds.get(0))).as("still findable while it moves")
        .isEqualTo(LruIndex.State.EVICTING);
  }

  @Test
  void caffeineRemovalListener_runsAfterTheEntryLeftTheMap_soAMovingBlobIsInNoIndex() {
    AtomicReference<Boolean> presentDuringListener = new AtomicReference<>();
    AtomicReference<RemovalCause> cause = new AtomicReference<>();
    AtomicReference<Cache<Integer, Integer>> self = new AtomicReference<>();
    Cache<Integer, Integer> tier = Caffeine.newBuilder()
        .executor(Runnable::run)
        .maximumSize(1)
        .<Integer, Integer>removalListener((k, v, c) -> {
          // Where a demotion would copy the file down: is the blob still findable?
          presentDuringListener.set(self.get().asMap().containsKey(k));
          cause.set(c);
        })
        .build();
    self.set(tier);
    tier.put(1, 1);
    tier.put(2, 2);
    tier.cleanUp();
    assertThat(cause.get()).isEqualTo(RemovalCause.SIZE);
    assertThat(presentDuringListener.get()).isFalse();
  }
}
