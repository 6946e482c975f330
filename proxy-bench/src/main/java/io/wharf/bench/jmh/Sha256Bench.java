package io.wharf.bench.jmh;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * SHA-256 over one 64 KiB slice, the way an in-flight fetch hashes upstream bytes before writing
 * them: heap array vs direct buffer (what the JDK HttpClient hands over). Throughput in MiB/s is
 * {@code 64 KiB / score}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Thread)
public class Sha256Bench {
  @Param({"65536"})
  public int size;

  private byte[] heap;
  private ByteBuffer direct;
  private MessageDigest sha;

  @Setup
  public void setUp() throws NoSuchAlgorithmException {
    heap = new byte[size];
    SplittableRandom r = new SplittableRandom(1);
    for (int i = 0; i < size; i++) {
      heap[i] = (byte) r.nextInt();
    }
    direct = ByteBuffer.allocateDirect(size);
    direct.put(heap).flip();
    sha = MessageDigest.getInstance("SHA-256");
  }

  @Benchmark
  public byte[] heapArray() {
    sha.update(heap);
    return sha.digest();
  }

  @Benchmark
  public byte[] directBuffer() {
    sha.update(direct.duplicate());
    return sha.digest();
  }
}
