package io.wharf.core.fetch;

import static org.assertj.core.api.Assertions.assertThat;

import io.wharf.core.oci.Digest;
import io.wharf.core.store.SharedFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GrowingBlobTest {
  @TempDir Path dir;

  private GrowingBlob started(long length) throws Exception {
    Path f = dir.resolve("blob");
    Files.write(f, new byte[0]);
    GrowingBlob b = new GrowingBlob(Digest.sha256Of(new byte[] {1}), "up");
    b.start(SharedFile.open(f), length);
    return b;
  }

  @Test
  void readable_knownLength_holdsBackFinalByteUntilComplete() throws Exception {
    GrowingBlob b = started(100);
    b.progress(40);
    assertThat(b.readable()).isEqualTo(40);
    b.progress(100);
    assertThat(b.readable()).isEqualTo(99);
    b.complete(100);
    assertThat(b.readable()).isEqualTo(100);
  }

  @Test
  void readable_over4GiB_64BitWatermarks() throws Exception {
    long length = (5L << 30) + 7;
    GrowingBlob b = started(length);
    b.progress(length - 1);
    assertThat(b.readable()).isEqualTo(length - 1);
    b.progress(length);
    assertThat(b.readable()).as("final byte held back").isEqualTo(length - 1);
    b.complete(length);
    assertThat(b.readable()).isEqualTo(length);
  }

  @Test
  void readable_unknownLength_holdsBackNewestByte() throws Exception {
    GrowingBlob b = started(-1);
    assertThat(b.readable()).isZero();
    b.progress(10);
    assertThat(b.readable()).isEqualTo(9);
    b.complete(10);
    assertThat(b.readable()).isEqualTo(10);
    assertThat(b.length()).isEqualTo(10);
  }

  @Test
  void whenReadableBeyond_semantics() throws Exception {
    GrowingBlob b = started(100);
    AtomicInteger fired = new AtomicInteger();
    b.whenReadableBeyond(10, fired::incrementAndGet);
    b.progress(10);
    assertThat(fired).as("readable 10 is not beyond 10").hasValue(0);
    b.whenReadableBeyond(10, fired::incrementAndGet);
    b.progress(11);
    assertThat(fired).as("both waiters run on progress past 10").hasValue(2);
    b.whenReadableBeyond(5, fired::incrementAndGet);
    assertThat(fired).as("already beyond: runs at once").hasValue(3);
    b.whenReadableBeyond(50, fired::incrementAndGet);
    b.fail(new IllegalStateException("boom"));
    assertThat(fired).as("failure wakes waiters").hasValue(4);
    assertThat(b.failure()).hasMessage("boom");
    assertThat(b.started()).isCompleted();
  }

  @Test
  void newReaderFile_afterClose_returnsNull_andRefsBalance() throws Exception {
    GrowingBlob b = started(10);
    SharedFile r = b.newReaderFile();
    assertThat(r.refCount()).isEqualTo(2);
    b.complete(10);
    b.close();
    assertThat(r.refCount()).isEqualTo(1);
    assertThat(b.newReaderFile()).isNull();
    r.release();
    assertThat(r.channel().isOpen()).isFalse();
  }

  @Test
  void lastReaderClosed_cancelWhenAbandoned_firesOnce_andBlobTakesNoNewReaders() throws Exception {
    GrowingBlob b = started(100);
    AtomicInteger abandoned = new AtomicInteger();
    b.cancelWhenAbandoned(abandoned::incrementAndGet);
    BlobReader r1 = BlobReader.growing(b, b.newReaderFile(), false);
    BlobReader r2 = BlobReader.growing(b, b.newReaderFile(), true);
    r1.close();
    assertThat(abandoned).as("one reader is left").hasValue(0);
    r2.close();
    r2.close();
    assertThat(abandoned).hasValue(1);
    assertThat(b.isAbandoned()).isTrue();
    assertThat(b.newReaderFile()).as("an abandoned fetch is never joined").isNull();
    b.close();
  }

  @Test
  void lastReaderClosed_keepFetchingOrCompleteOrNotConfigured_neverAbandoned() throws Exception {
    GrowingBlob kept = started(100);
    AtomicInteger abandoned = new AtomicInteger();
    kept.cancelWhenAbandoned(abandoned::incrementAndGet);
    kept.keepFetching(); // e.g. a prefetch wants it stored
    BlobReader.growing(kept, kept.newReaderFile(), false).close();

    GrowingBlob done = started(100);
    done.cancelWhenAbandoned(abandoned::incrementAndGet);
    BlobReader r = BlobReader.growing(done, done.newReaderFile(), false);
    done.complete(100);
    r.close();

    GrowingBlob plain = started(100); // default: clients leaving never cancel
    BlobReader.growing(plain, plain.newReaderFile(), false).close();

    assertThat(abandoned).hasValue(0);
    assertThat(kept.isAbandoned() || done.isAbandoned() || plain.isAbandoned()).isFalse();
    kept.close();
    done.close();
    plain.close();
  }

  @org.junit.jupiter.api.RepeatedTest(20)
  void readersLeavingConcurrently_abandonFiresExactlyOnce() throws Exception {
    GrowingBlob b = started(100);
    AtomicInteger abandoned = new AtomicInteger();
    b.cancelWhenAbandoned(abandoned::incrementAndGet);
    int n = 16;
    java.util.List<BlobReader> readers = new java.util.ArrayList<>();
    for (int i = 0; i < n; i++) {
      readers.add(BlobReader.growing(b, b.newReaderFile(), i > 0));
    }
    java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
    try {
      java.util.List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
      for (BlobReader r : readers) {
        done.add(pool.submit(() -> {
          go.await();
          r.close();
          return null;
        }));
      }
      go.countDown();
      for (java.util.concurrent.Future<?> f : done) {
        f.get(10, java.util.concurrent.TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(abandoned).hasValue(1);
    b.close();
  }
}
