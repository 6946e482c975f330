package io.wharf.core.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.oci.Digest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Readers of one stored blob share one file descriptor (a popular layer read by thousands of
 * slow clients must not cost a descriptor each), the descriptor closes with its last reader, and
 * deleting or replacing the file never breaks a reader that holds it.
 */
class SharedBlobDescriptorsTest {
  @TempDir Path dir;
  private DiskTier tier;

  @AfterEach
  void close() {
    if (tier != null) {
      tier.close();
    }
  }

  private DiskTier tier() {
    tier = DiskTier.open("disk0", dir.resolve("t"), 1L << 30, 0, d -> Long.MAX_VALUE,
        System::currentTimeMillis, victims -> { }, WharfMeters.noop());
    return tier;
  }

  private static Digest put(DiskTier t, byte[] body) throws IOException {
    Digest d = Digest.sha256Of(body);
    Path tmp = t.createTemp(d);
    Files.write(tmp, body);
    t.commit(t.reserve(body.length), d, tmp);
    return d;
  }

  private static byte[] body(int seed, int size) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** Descriptors this process has open now on files under this test's directory (Linux). */
  private long openDescriptors() throws IOException {
    String under = dir.toRealPath().toString();
    long n = 0;
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      for (Path fd : (Iterable<Path>) fds::iterator) {
        try {
          if (Files.readSymbolicLink(fd).toString().startsWith(under)) {
            n++;
          }
        } catch (IOException e) {
          // closed while listing (another thread's descriptor)
        }
      }
    }
    return n;
  }

  @Test
  void thousandReadersOfOneBlob_shareOneDescriptor_closedWithTheLast() throws Exception {
    DiskTier t = tier();
    byte[] body = body(1, 100_000);
    Digest d = put(t, body);
    long before = openDescriptors();

    List<SharedFile> readers = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      readers.add(t.open(d).file());
    }
    assertThat(openDescriptors() - before).isEqualTo(1);
    assertThat(readers).allMatch(f -> f == readers.get(0));
    assertThat(readers.get(0).refCount()).isEqualTo(1000);
    assertThat(DiskTierTest.readAll(readers.get(999))).isEqualTo(body);

    for (int i = 0; i < 999; i++) {
      readers.get(i).release();
    }
    assertThat(readers.get(0).channel().isOpen()).isTrue();
    readers.get(999).release();
    assertThat(readers.get(0).channel().isOpen()).isFalse();
    assertThat(t.store().openBlobCount()).isZero();
    assertThat(openDescriptors()).isEqualTo(before);

    SharedFile again = t.open(d).file(); // a later reader opens it afresh
    assertThat(again).isNotSameAs(readers.get(0));
    assertThat(DiskTierTest.readAll(again)).isEqualTo(body);
    again.release();
  }

  @Test
  void deletedWhileRead_holderFinishes_andARestoredBlobIsOpenedAfresh() throws Exception {
    DiskTier t = tier();
    byte[] body = body(2, 50_000);
    Digest d = put(t, body);
    SharedFile held = t.open(d).file();

    t.delete(d);
    assertThat(t.open(d)).isNull();
    assertThat(DiskTierTest.readAll(held)).isEqualTo(body); // unlinked, still readable

    put(t, body);
    SharedFile fresh = t.open(d).file();
    assertThat(fresh).isNotSameAs(held);
    assertThat(DiskTierTest.readAll(fresh)).isEqualTo(body);
    held.release();
    assertThat(fresh.channel().isOpen()).isTrue(); // the old one's close leaves the new entry
    SharedFile third = t.open(d).file();
    assertThat(third).isSameAs(fresh);
    third.release();
    fresh.release();
    assertThat(t.store().openBlobCount()).isZero();
  }

  @Test
  void concurrentOpenReadRelease_neverSeesAClosedFile_andLeavesNothingOpen() throws Exception {
    DiskTier t = tier();
    int blobs = 4;
    byte[][] bodies = new byte[blobs][];
    Digest[] digests = new Digest[blobs];
    for (int i = 0; i < blobs; i++) {
      bodies[i] = body(10 + i, 4096 + i);
      digests[i] = put(t, bodies[i]);
    }
    long before = openDescriptors();
    int threads = 8;
    int rounds = 5_000;
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int th = 0; th < threads; th++) {
        int seed = th;
        done.add(pool.submit(() -> {
          Random r = new Random(seed);
          start.await();
          for (int i = 0; i < rounds; i++) {
            int k = r.nextInt(blobs);
            SharedFile f = t.open(digests[k]).file();
            try {
              // a positional read of one byte; a closed channel would throw here
              java.nio.ByteBuffer one = java.nio.ByteBuffer.allocate(1);
              int at = r.nextInt(bodies[k].length);
              assertThat(f.channel().read(one, at)).isEqualTo(1);
              assertThat(one.get(0)).isEqualTo(bodies[k][at]);
            } finally {
              f.release();
            }
          }
          return null;
        }));
      }
      start.countDown();
      for (Future<?> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(t.store().openBlobCount()).isZero();
    assertThat(openDescriptors()).isEqualTo(before);
  }
}
