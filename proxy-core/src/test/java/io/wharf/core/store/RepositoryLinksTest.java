package io.wharf.core.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.wharf.core.oci.Digest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RepositoryLinksTest {
  @TempDir Path dir;
  private final ExecutorService disk = Executors.newFixedThreadPool(2);

  @AfterEach
  void stop() {
    disk.shutdownNow();
  }

  private static Digest d(int i) {
    return Digest.sha256Of(("blob " + i).getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void link_isPerUpstreamAndRepository_andSurvivesReopen() {
    RepositoryLinks l = RepositoryLinks.open(dir, disk, x -> true);
    l.link("hub", "library/nginx", List.of(d(1), d(2)));
    l.link("ghcr.io", "org/app", List.of(d(3)));
    assertThat(l.isLinked("hub", "library/nginx", d(1))).isTrue();
    assertThat(l.isLinked("hub", "library/redis", d(1))).isFalse();
    assertThat(l.isLinked("ghcr.io", "library/nginx", d(1))).isFalse();
    l.close();

    RepositoryLinks again = RepositoryLinks.open(dir, disk, x -> true);
    assertThat(again.isLinked("hub", "library/nginx", d(2))).isTrue();
    assertThat(again.isLinked("ghcr.io", "org/app", d(3))).isTrue();
    assertThat(again.isLinked("ghcr.io", "org/app", d(1))).isFalse();
    assertThat(again.size()).isEqualTo(3);
    again.close();
  }

  @Test
  void journal_tornTail_isCutOff_restKept() throws Exception {
    RepositoryLinks l = RepositoryLinks.open(dir, disk, x -> true);
    l.link("hub", "a", List.of(d(1)));
    l.flush();
    l.link("hub", "a", List.of(d(2)));
    l.flush();
    // Simulate a crash: no close (no compaction), and half a record at the end of the journal.
    Path journal = dir.resolve(RepositoryLinks.JOURNAL);
    long good = Files.size(journal);
    Files.write(journal, new byte[] {0, 0, 0, 42, 'L', 0, 0}, StandardOpenOption.APPEND);

    RepositoryLinks again = RepositoryLinks.open(dir, disk, x -> true);
    assertThat(again.isLinked("hub", "a", d(1))).isTrue();
    assertThat(again.isLinked("hub", "a", d(2))).isTrue();
    assertThat(good).isPositive();
    assertThat(Files.size(journal)).as("compacted into the snapshot at start-up").isZero();
    again.close();
    l.close();
  }

  @Test
  void corruptRecord_stopsLoadingThere_neverInventsLinks() throws Exception {
    RepositoryLinks l = RepositoryLinks.open(dir, disk, x -> true);
    l.link("hub", "a", List.of(d(1)));
    l.flush();
    Path journal = dir.resolve(RepositoryLinks.JOURNAL);
    byte[] bytes = Files.readAllBytes(journal);
    bytes[bytes.length - 6] ^= 0x55; // flip a bit in the hash of the last link
    Files.write(journal, bytes);

    RepositoryLinks again = RepositoryLinks.open(dir, disk, x -> true);
    assertThat(again.size()).isZero();
    again.close();
    l.close();
  }

  @Test
  void compaction_dropsLinksToContentNoLongerStored() {
    Set<Digest> stored = ConcurrentHashMap.newKeySet();
    stored.add(d(1));
    RepositoryLinks l = RepositoryLinks.open(dir, disk, stored::contains);
    l.link("hub", "a", List.of(d(1), d(2)));
    l.close();
    RepositoryLinks again = RepositoryLinks.open(dir, disk, stored::contains);
    assertThat(again.isLinked("hub", "a", d(1))).isTrue();
    assertThat(again.isLinked("hub", "a", d(2))).isFalse();
    again.close();
  }

  @Test
  void bound_refusesNewLinks_beyondMax() {
    RepositoryLinks l = RepositoryLinks.open(dir, disk, x -> true, 10);
    List<Digest> many = new ArrayList<>();
    for (int i = 0; i < 25; i++) {
      many.add(d(i));
    }
    l.link("hub", "a", many);
    assertThat(l.size()).isEqualTo(10);
    assertThat(l.refused()).isEqualTo(15);
    assertThat(l.isLinked("hub", "a", d(24))).isFalse();
    l.close();
  }

  @Test
  void concurrentLinks_allPersisted_onceEach() throws Exception {
    RepositoryLinks l = RepositoryLinks.open(dir, disk, x -> true);
    ExecutorService writers = Executors.newFixedThreadPool(8);
    for (int t = 0; t < 8; t++) {
      writers.execute(() -> {
        for (int i = 0; i < 2_000; i++) {
          l.link("hub", "repo" + (i % 50), List.of(d(i)));
        }
      });
    }
    writers.shutdown();
    assertThat(writers.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
    assertThat(l.size()).isEqualTo(2_000);
    l.close();
    long bytes = Files.size(dir.resolve(RepositoryLinks.SNAPSHOT))
        + Files.size(dir.resolve(RepositoryLinks.JOURNAL));
    assertThat(bytes).isPositive();
    assertThat(bytes).as("compact: under 60 bytes a link").isLessThan(2_000L * 60);

    RepositoryLinks again = RepositoryLinks.open(dir, disk, x -> true);
    assertThat(again.size()).isEqualTo(2_000);
    for (int i = 0; i < 2_000; i++) {
      assertThat(again.isLinked("hub", "repo" + (i % 50), d(i))).isTrue();
    }
    again.close();
  }
}
