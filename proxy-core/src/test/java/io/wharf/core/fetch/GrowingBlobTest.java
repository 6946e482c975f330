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
}
