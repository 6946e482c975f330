package io.wharf.core.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.Counter;
import io.wharf.core.config.StorageConfig;
import io.wharf.core.config.TierConfig;
import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.oci.Digest;
import io.wharf.core.testing.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class TieredStoreTest {
  @TempDir Path dir;
  final AtomicLong clock = new AtomicLong(1_700_000_000_000L);
  final Map<Path, Long> usable = new ConcurrentHashMap<>();
  final DiskSpace space = p -> usable.getOrDefault(p, Long.MAX_VALUE / 2);
  WharfMeters meters = WharfMeters.noop();
  Executor executor = Runnable::run; // moves run inline: deterministic
  ExecutorService pool;
  TieredStore store;

  @AfterEach
  void tearDown() {
    if (store != null) {
      store.close();
    }
    if (pool != null) {
      pool.shutdownNow();
    }
  }

  Path t0() {
    return dir.resolve("fast").toAbsolutePath();
  }

  Path t1() {
    return dir.resolve("large").toAbsolutePath();
  }

  TieredStore open(String max0, String max1, Duration retention, int promoteAfterHits) {
    StorageConfig cfg = new StorageConfig(List.of(
        TierConfig.disk(t0().toString(), max0, "1000"),
        TierConfig.disk(t1().toString(), max1, "1000")), retention, promoteAfterHits);
    store = TieredStore.open(cfg, space, executor, clock::get, meters);
    return store;
  }

  TieredStore open(String max0, String max1) {
    return open(max0, max1, null, 2);
  }

  /** What a fetch does: place by length, write, commit. */
  Digest put(byte[] body) throws Exception {
    Digest d = Digest.sha256Of(body);
    Placement p = store.place(d, body.length);
    Files.write(p.tempPath(), body);
    store.commit(p, d);
    return d;
  }

  byte[] get(Digest d) throws Exception {
    Optional<SharedFile> f = store.openBlob(d);
    if (f.isEmpty()) {
      return null;
    }
    try {
      return DiskTierTest.readAll(f.get());
    } finally {
      f.get().release();
    }
  }

  double count(String name, String... tags) {
    Counter c = meters.registry().find(name).tags(tags).counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void put_overflowingFastTier_demotesLeastRecentlyUsedToNextTier() throws Exception {
    open("10000", "100000");
    Digest a = put(TestImages.bytes(1, 4_000));
    Digest b = put(TestImages.bytes(2, 4_000));
    Digest c = put(TestImages.bytes(3, 4_000));
    assertThat(store.tierOf(a)).isEqualTo("disk1");
    assertThat(store.tierOf(b)).isEqualTo("disk0");
    assertThat(store.tierOf(c)).isEqualTo("disk0");
    assertThat(get(a)).isEqualTo(TestImages.bytes(1, 4_000));
    assertThat(Files.exists(store.tiers().get(0).blobPath(a))).isFalse();
    assertThat(store.tiers().get(0).usedBytes()).isEqualTo(8_000);
    assertThat(store.tiers().get(1).usedBytes()).isEqualTo(4_000);
    assertThat(count(WharfMeters.STORE_EVICTIONS, "tier", "disk0", "result", "demoted")).isEqualTo(1);
    assertThat(count(WharfMeters.STORE_LOOKUPS, "tier", "disk1", "result", "hit")).isEqualTo(1);
    assertThat(count(WharfMeters.STORE_LOOKUPS, "tier", "disk0", "result", "miss")).isEqualTo(1);
  }

  @Test
  void evictionFromLastTier_deletesTheBlob() throws Exception {
    open("10000", "10000");
    List<Digest> ds = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      ds.add(put(TestImages.bytes(i, 4_000)));
    }
    // 5 x 4000 bytes into 2 x 10000: the oldest one is gone from both tiers.
    assertThat(store.tierOf(ds.get(0))).isNull();
    assertThat(get(ds.get(0))).isNull();
    assertThat(Files.exists(store.tiers().get(1).blobPath(ds.get(0)))).isFalse();
    for (int i = 1; i < 5; i++) {
      assertThat(get(ds.get(i))).as("blob %d", i).isEqualTo(TestImages.bytes(i, 4_000));
    }
    assertThat(count(WharfMeters.STORE_EVICTIONS, "tier", "disk1", "result", "deleted")).isEqualTo(1);
    for (DiskTier t : store.tiers()) {
      assertThat(t.usedBytes() + t.reservedBytes()).isLessThanOrEqualTo(t.maxBytes());
    }
  }

  @Test
  void hitInLowerTier_servedFromThere_promotedOnSecondHit_swappingWithFastTiersOldest()
      throws Exception {
    open("10000", "100000");
    Digest a = put(TestImages.bytes(1, 4_000));
    Digest b = put(TestImages.bytes(2, 4_000));
    put(TestImages.bytes(3, 4_000)); // a -> disk1
    assertThat(get(a)).isEqualTo(TestImages.bytes(1, 4_000));
    assertThat(store.tierOf(a)).as("one read is not hot").isEqualTo("disk1");
    assertThat(get(a)).isEqualTo(TestImages.bytes(1, 4_000));
    assertThat(store.tierOf(a)).as("the second read promotes").isEqualTo("disk0");
    assertThat(store.tierOf(b)).as("made room in disk0").isEqualTo("disk1");
    assertThat(Files.exists(store.tiers().get(1).blobPath(a))).isFalse();
    assertThat(count(WharfMeters.STORE_PROMOTIONS, "tier", "disk0")).isEqualTo(1);
    assertThat(get(a)).isEqualTo(TestImages.bytes(1, 4_000));
  }

  @Test
  void promoteAfterHitsZero_neverPromotes() throws Exception {
    open("10000", "100000", null, 0);
    Digest a = put(TestImages.bytes(1, 4_000));
    put(TestImages.bytes(2, 4_000));
    put(TestImages.bytes(3, 4_000));
    for (int i = 0; i < 5; i++) {
      get(a);
    }
    assertThat(store.tierOf(a)).isEqualTo("disk1");
  }

  @Test
  void blobLargerThanFastTier_placedInNextTier() throws Exception {
    open("10000", "100000");
    Digest big = put(TestImages.bytes(1, 20_000));
    assertThat(store.tierOf(big)).isEqualTo("disk1");
    assertThat(store.tiers().get(0).entryCount()).isZero();
  }

  @Test
  void unknownLength_placedInLastTier_reservationGrowsWithTheBytes() throws Exception {
    open("10000", "30000");
    Digest d = Digest.sha256Of(TestImages.bytes(1, 12_000));
    Placement p = store.place(d, -1);
    assertThat(p.tierName()).isEqualTo("disk1");
    assertThat(p.ensure(12_000)).isTrue();
    assertThat(store.tiers().get(1).reservedBytes()).isEqualTo(12_000);
    assertThat(p.ensure(30_001)).isFalse();
    Files.write(p.tempPath(), TestImages.bytes(1, 12_000));
    store.commit(p, d);
    assertThat(store.tiers().get(1).reservedBytes()).isZero();
    assertThat(store.tiers().get(1).usedBytes()).isEqualTo(12_000);
  }

  @Test
  void fastTierBelowFreeSpaceFloor_spillsToNextTier() throws Exception {
    open("10000", "100000");
    usable.put(t0(), 1_200L); // floor 1000: 4000 more would go below it
    Digest d = put(TestImages.bytes(1, 4_000));
    assertThat(store.tierOf(d)).isEqualTo("disk1");
  }

  @Test
  void fastTierUnwritable_spillsToNextTier_andIsUsedAgainAfterBackOff() throws Exception {
    open("10000", "100000");
    Path tmp = t0().resolve("tmp");
    Files.delete(tmp);
    Files.writeString(tmp, "a file where tmp/ should be: unwritable even for root");
    Digest d = put(TestImages.bytes(1, 4_000));
    assertThat(store.tierOf(d)).isEqualTo("disk1");
    assertThat(count(WharfMeters.STORE_WRITE_FAILURES, "tier", "disk0")).isEqualTo(1);
    Files.delete(tmp);
    Files.createDirectory(tmp);
    assertThat(store.tierOf(put(TestImages.bytes(2, 4_000)))).as("still backing off")
        .isEqualTo("disk1");
    clock.addAndGet(DiskTier.WRITE_FAILURE_BACKOFF_MILLIS + 1);
    assertThat(store.tierOf(put(TestImages.bytes(3, 4_000)))).isEqualTo("disk0");
  }

  @Test
  void noTierHasRoom_refusedWith503AndRetryAfter_nothingKept_thenRecoversWhenSpaceIsBack()
      throws Exception {
    open("10000", "100000");
    usable.put(t0(), 500L);
    usable.put(t1(), 500L);
    Digest d = Digest.sha256Of(TestImages.bytes(1, 4_000));
    assertThatThrownBy(() -> store.place(d, 4_000))
        .isInstanceOfSatisfying(StoreException.class, e -> {
          assertThat(e.status()).isEqualTo(503);
          assertThat(e.retryAfterSeconds()).isEqualTo(TieredStore.NO_ROOM_RETRY_AFTER_SECONDS);
          assertThat(e.getMessage()).contains("disk0").contains("disk1").contains("floor");
        });
    assertThat(count(WharfMeters.STORE_NO_ROOM)).isEqualTo(1);
    for (Path t : List.of(t0(), t1())) {
      try (Stream<Path> s = Files.list(t.resolve("tmp"))) {
        assertThat(s).as("nothing partial in %s", t).isEmpty();
      }
    }
    assertThat(store.tiers()).allSatisfy(t -> assertThat(t.reservedBytes()).isZero());
    usable.clear();
    assertThat(store.tierOf(put(TestImages.bytes(1, 4_000)))).isEqualTo("disk0");
  }

  @Test
  void abandon_deletesTempAndReturnsReservation() throws Exception {
    open("10000", "100000");
    Digest d = Digest.sha256Of(new byte[] {1});
    Placement p = store.place(d, 5_000);
    assertThat(store.tiers().get(0).reservedBytes()).isEqualTo(5_000);
    store.abandon(p);
    store.abandon(p);
    assertThat(p.tempPath()).doesNotExist();
    assertThat(store.tiers().get(0).reservedBytes()).isZero();
  }

  @Test
  void readersOfABlobThatIsDemotedThenDeleted_receiveEveryByte() throws Exception {
    pool = Executors.newFixedThreadPool(2);
    executor = pool;
    open("300000", "300000"); // each tier holds one blob
    byte[] a = TestImages.bytes(1, 250_000);
    Digest da = put(a);
    SharedFile reading = store.openBlob(da).orElseThrow();
    put(TestImages.bytes(2, 250_000)); // a -> disk1
    await().until(() -> store.pendingMoves() == 0);
    put(TestImages.bytes(3, 250_000)); // b -> disk1, which evicts (deletes) a
    await().until(() -> store.pendingMoves() == 0);
    assertThat(store.tierOf(da)).isNull();
    assertThat(Files.exists(store.tiers().get(0).blobPath(da))).isFalse();
    assertThat(Files.exists(store.tiers().get(1).blobPath(da))).isFalse();
    try {
      assertThat(DiskTierTest.readAll(reading)).isEqualTo(a);
    } finally {
      reading.release();
    }
    assertThat(get(da)).as("gone: the next request fetches it again").isNull();
  }

  @Test
  void lookupsWhileBlobsMoveUpAndDown_neverMissABlobThatIsStored() throws Exception {
    pool = Executors.newFixedThreadPool(4);
    executor = pool;
    open("20000", "1000000"); // disk0 holds 2 of the 10 blobs; nothing is ever deleted
    List<Digest> ds = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      ds.add(put(TestImages.bytes(i, 10_000)));
    }
    await().until(() -> store.pendingMoves() == 0);
    ExecutorService readers = Executors.newFixedThreadPool(3);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<Integer>> results = new ArrayList<>();
      for (int r = 0; r < 3; r++) {
        int seed = r;
        results.add(readers.submit(() -> {
          go.await();
          int misses = 0;
          for (int i = 0; i < 400; i++) {
            Digest d = ds.get((i * 7 + seed) % ds.size());
            Optional<SharedFile> f = store.openBlob(d);
            if (f.isEmpty()) {
              misses++;
            } else {
              f.get().release();
            }
          }
          return misses;
        }));
      }
      go.countDown();
      for (Future<Integer> f : results) {
        assertThat(f.get()).as("look-ups that missed a stored blob").isZero();
      }
    } finally {
      readers.shutdownNow();
    }
    await().until(() -> store.pendingMoves() == 0);
    assertThat(count(WharfMeters.STORE_PROMOTIONS, "tier", "disk0")).isPositive();
    long total = store.tiers().stream().mapToLong(DiskTier::entryCount).sum();
    assertThat(total).isEqualTo(10);
    for (Digest d : ds) {
      assertThat(get(d)).isEqualTo(TestImages.bytes(ds.indexOf(d), 10_000));
    }
  }

  @Test
  void retention_removesBlobsNotPulledFor_theConfiguredAge() throws Exception {
    open("100000", "100000", Duration.ofDays(30), 2);
    Digest old = put(TestImages.bytes(1, 1_000));
    clock.addAndGet(Duration.ofDays(20).toMillis());
    Digest pulledLater = put(TestImages.bytes(2, 1_000));
    clock.addAndGet(Duration.ofDays(11).toMillis());
    assertThat(store.sweepExpired()).isEqualTo(1);
    assertThat(store.tierOf(old)).isNull();
    assertThat(Files.exists(store.tiers().get(0).blobPath(old))).isFalse();
    assertThat(store.tierOf(pulledLater)).isEqualTo("disk0");
    assertThat(count(WharfMeters.STORE_EVICTIONS, "tier", "disk0", "result", "expired")).isEqualTo(1);
  }

  @Test
  void restart_rebuildsEveryTier_lruFromFileTimes_removesWrongNamedFilesAndTemps()
      throws Exception {
    open("10000", "100000");
    Digest a = put(TestImages.bytes(1, 4_000));
    Digest b = put(TestImages.bytes(2, 4_000));
    Digest c = put(TestImages.bytes(3, 4_000)); // a -> disk1
    store.close();
    store = null;
    // Recency as the file times say: c older than b, so b is the most recently used.
    Path p0 = t0();
    DiskStoreAccess.setUsed(DiskStoreAccess.blobPath(p0, c), 1_000);
    DiskStoreAccess.setUsed(DiskStoreAccess.blobPath(p0, b), 2_000);
    // Files a store must never trust, and a leftover temp file.
    Path wrongPrefix = p0.resolve("blobs/sha256/00/" + "ab".repeat(32));
    Path notHex = p0.resolve("blobs/sha256/zz/zzzz");
    Path tooDeep = p0.resolve("blobs/sha256/ab/cd/" + "ab".repeat(32));
    Path emptyNamedByContent = p0.resolve("blobs/sha256/cd/" + "cd".repeat(32));
    Path badAlg = p0.resolve("blobs/md5/ab/" + "ab".repeat(16));
    for (Path p : List.of(wrongPrefix, notHex, tooDeep, emptyNamedByContent, badAlg)) {
      Files.createDirectories(p.getParent());
      Files.write(p, p == emptyNamedByContent ? new byte[0] : new byte[] {1, 2, 3});
    }
    Path link = p0.resolve("blobs/sha256/ef/" + "ef".repeat(32));
    Files.createDirectories(link.getParent());
    Files.createSymbolicLink(link, Path.of("/etc/hostname"));
    Files.writeString(p0.resolve("tmp/" + "ab".repeat(32) + ".123456"), "partial");
    Files.writeString(t1().resolve("tmp/" + "ab".repeat(32) + ".abcdef"), "partial");

    open("10000", "100000");
    assertThat(store.tierOf(a)).isEqualTo("disk1");
    assertThat(store.tierOf(b)).isEqualTo("disk0");
    assertThat(store.tierOf(c)).isEqualTo("disk0");
    assertThat(store.tiers().get(0).index().digestsLruFirst()).containsExactly(c, b);
    assertThat(get(a)).isEqualTo(TestImages.bytes(1, 4_000));
    for (Path p : List.of(wrongPrefix, notHex, tooDeep, emptyNamedByContent, badAlg, link)) {
      assertThat(Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)).as("%s", p).isFalse();
    }
    assertThat(Path.of("/etc/hostname")).exists();
    for (Path t : List.of(t0(), t1())) {
      try (Stream<Path> s = Files.list(t.resolve("tmp"))) {
        assertThat(s).isEmpty();
      }
    }
    assertThat(store.tiers().get(0).usedBytes()).isEqualTo(8_000);
    assertThat(store.tiers().get(1).usedBytes()).isEqualTo(4_000);
  }

  @Test
  void restart_withSmallerBudget_evictsDownToIt() throws Exception {
    open("10000", "100000");
    Digest a = put(TestImages.bytes(1, 4_000));
    Digest b = put(TestImages.bytes(2, 4_000));
    store.close();
    store = null;
    DiskStoreAccess.setUsed(DiskStoreAccess.blobPath(t0(), a), 1_000);
    DiskStoreAccess.setUsed(DiskStoreAccess.blobPath(t0(), b), 2_000);
    open("5000", "100000");
    assertThat(store.tierOf(a)).isEqualTo("disk1");
    assertThat(store.tierOf(b)).isEqualTo("disk0");
  }

  @Test
  void manifestsInThePrimaryTier_areNotIndexed_soNeverEvicted() throws Exception {
    open("10000", "100000");
    byte[] m = "{\"schemaVersion\":2}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    Digest md = Digest.sha256Of(m);
    store.primary().putManifest(md, m, "application/vnd.oci.image.manifest.v1+json");
    store.close();
    store = null;
    open("10000", "100000");
    assertThat(store.tierOf(md)).isNull();
    assertThat(store.primary().getManifest(md)).isPresent();
  }

  /** Blob paths of a closed tier directory. */
  static final class DiskStoreAccess {
    static Path blobPath(Path root, Digest d) {
      return root.resolve("blobs").resolve(d.algorithm()).resolve(d.hex().substring(0, 2))
          .resolve(d.hex());
    }

    /** Sets both access and modification time: recency is the later of the two. */
    static void setUsed(Path p, long millis) throws java.io.IOException {
      Files.getFileAttributeView(p, java.nio.file.attribute.BasicFileAttributeView.class)
          .setTimes(FileTime.fromMillis(millis), FileTime.fromMillis(millis), null);
    }
  }
}
