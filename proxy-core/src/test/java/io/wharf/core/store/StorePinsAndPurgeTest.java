package io.wharf.core.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wharf.core.config.StorageConfig;
import io.wharf.core.config.TierConfig;
import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.oci.Digest;
import io.wharf.core.testing.TestImages;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Pins (eviction, retention, promotion, persistence), purges and the temp-file sweep. */
@Timeout(60)
class StorePinsAndPurgeTest {
  @TempDir Path dir;
  final AtomicLong clock = new AtomicLong(1_700_000_000_000L);
  TieredStore store;

  @AfterEach
  void tearDown() {
    if (store != null) {
      store.close();
    }
  }

  TieredStore open(String max0, String max1, Duration retention) {
    StorageConfig cfg = new StorageConfig(List.of(
        TierConfig.disk(dir.resolve("fast").toString(), max0, "0"),
        TierConfig.disk(dir.resolve("large").toString(), max1, "0")), retention, 1);
    store = TieredStore.open(cfg, p -> Long.MAX_VALUE / 2, Runnable::run, clock::get,
        WharfMeters.noop());
    return store;
  }

  Digest put(byte[] body) throws Exception {
    Digest d = Digest.sha256Of(body);
    Placement p = store.place(d, body.length);
    Files.write(p.tempPath(), body);
    store.commit(p, d);
    clock.addAndGet(1000);
    return d;
  }

  static Pins.Pin pin(String id, Digest... digests) {
    return new Pins.Pin(id, "up", "team/app", "1", List.of(),
        java.util.Arrays.stream(digests).map(Digest::toString).toList(), 0, 0);
  }

  @Test
  void lruIndex_pinnedEntries_areNeverVictimsNorExpired() {
    Digest a = Digest.sha256Of(new byte[] {1});
    Digest b = Digest.sha256Of(new byte[] {2});
    LruIndex idx = new LruIndex(100, a::equals);
    idx.load(a, 60, 0);
    idx.load(b, 30, 1);
    assertThat(idx.reserve(70)).as("only b can go, and 30 bytes are not enough").isNull();
    List<LruIndex.Entry> victims = idx.reserve(40);
    assertThat(victims).extracting(e -> e.digest).containsExactly(b);
    assertThat(idx.expire(Long.MAX_VALUE)).isEmpty();
    assertThat(idx.state(a)).isEqualTo(LruIndex.State.PRESENT);
  }

  @Test
  void pinnedBlob_staysInItsTier_underPressure_retentionAndHits() throws Exception {
    open("3000", "100000", Duration.ofSeconds(10));
    Digest pinnedFast = put(TestImages.bytes(1, 1000));
    store.pins().put(pin("up/team/app:1", pinnedFast));
    Digest x = put(TestImages.bytes(2, 1000));
    Digest y = put(TestImages.bytes(3, 1000));
    Digest z = put(TestImages.bytes(4, 1000)); // fast tier full: the oldest unpinned goes down
    assertThat(store.tierOf(pinnedFast)).isEqualTo("disk0");
    assertThat(store.tierOf(x)).isEqualTo("disk1");
    assertThat(store.tierOf(y)).isEqualTo("disk0");
    assertThat(store.tierOf(z)).isEqualTo("disk0");

    // A pinned blob in a lower tier is not promoted (stays put).
    Digest pinnedLow = x;
    store.pins().put(pin("up/team/app:2", x));
    store.openBlob(pinnedLow).orElseThrow().release();
    store.openBlob(pinnedLow).orElseThrow().release();
    assertThat(store.tierOf(pinnedLow)).isEqualTo("disk1");

    clock.addAndGet(60_000);
    assertThat(store.sweepExpired()).as("y and z expire, pins do not").isEqualTo(2);
    assertThat(store.tierOf(pinnedFast)).isEqualTo("disk0");
    assertThat(store.tierOf(pinnedLow)).isEqualTo("disk1");
    assertThat(store.tierOf(y)).isNull();
  }

  @Test
  void pins_persistAcrossRestart_andCorruptFileStopsStartup() throws Exception {
    open("100000", "100000", null);
    Digest d = put(TestImages.bytes(5, 100));
    store.pins().put(pin("up/team/app:1", d));
    store.pins().put(pin("up/team/app:2", d));
    assertThat(store.pins().remove("up/team/app:2")).isTrue();
    assertThat(store.pins().remove("up/team/app:2")).isFalse();
    store.close();

    open("100000", "100000", null);
    assertThat(store.pins().list()).extracting(Pins.Pin::id).containsExactly("up/team/app:1");
    assertThat(store.pins().contains(d)).isTrue();
    assertThat(store.pins().digestCount()).isEqualTo(1);
    store.close();
    store = null;

    Path file = dir.resolve("fast").resolve(Pins.FILE);
    Files.writeString(file, "{\"formatVersion\":1,\"pins\":[{\"id\":");
    assertThatThrownBy(() -> open("100000", "100000", null))
        .isInstanceOf(StoreException.class).hasMessageContaining("pins file");
    store = null;
  }

  @Test
  void purge_removesFromEveryTier_openReaderKeepsReading() throws Exception {
    open("100000", "100000", null);
    byte[] body = TestImages.bytes(6, 5000);
    Digest d = put(body);
    SharedFile reader = store.openBlob(d).orElseThrow();

    assertThat(store.purge(d)).containsExactly("disk0");

    assertThat(store.tierOf(d)).isNull();
    assertThat(store.openBlob(d)).isEmpty();
    ByteBuffer buf = ByteBuffer.allocate(body.length);
    while (buf.hasRemaining() && reader.channel().read(buf, buf.position()) > 0) {
      // read on
    }
    reader.release();
    assertThat(buf.array()).isEqualTo(body);
    assertThat(store.purge(d)).isEmpty();
  }

  @Test
  void removeOrphanedTemps_spares_liveFetchesAndRecentFiles() throws Exception {
    open("100000", "100000", null);
    Digest d = Digest.sha256Of(new byte[] {9});
    Placement live = store.place(d, 1);
    Files.setLastModifiedTime(live.tempPath(), FileTime.fromMillis(0));
    Path orphan = dir.resolve("large").resolve("tmp").resolve("orphan.1");
    Files.write(orphan, new byte[77]);
    Files.setLastModifiedTime(orphan, FileTime.fromMillis(0));
    Path recent = dir.resolve("fast").resolve("tmp").resolve("w.recent");
    Files.write(recent, new byte[5]);
    Files.setLastModifiedTime(recent, FileTime.fromMillis(clock.get()));

    TieredStore.TempSweep swept = store.removeOrphanedTemps(60_000);

    assertThat(swept).isEqualTo(new TieredStore.TempSweep(1, 77));
    assertThat(Files.exists(orphan)).isFalse();
    assertThat(Files.exists(live.tempPath())).isTrue();
    assertThat(Files.exists(recent)).isTrue();
    store.abandon(live);
    assertThat(store.removeOrphanedTemps(60_000).files()).isZero();
  }
}
