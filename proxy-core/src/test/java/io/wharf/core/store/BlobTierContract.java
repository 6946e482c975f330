package io.wharf.core.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.wharf.core.oci.Digest;
import io.wharf.core.testing.TestImages;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What every {@link BlobTier} must do: put, get, evict in LRU order, exact byte accounting, and
 * reservations that count against the budget. Each implementation's test extends this.
 */
abstract class BlobTierContract<T extends BlobTier> {

  /** Victims the tier handed to its evictor, in order. */
  protected final List<LruIndex.Entry> victims = new ArrayList<>();

  /** A fresh, empty tier with this budget whose evictor adds to {@link #victims}. */
  protected abstract T newTier(long maxBytes) throws Exception;

  /** Puts {@code body} through a reservation of {@code reserve} bytes; returns its digest. */
  protected abstract Digest put(T tier, Reservation r, byte[] body) throws Exception;

  /** The bytes the tier serves for {@code d}, or null if it does not have it. */
  protected abstract byte[] read(T tier, Digest d) throws Exception;

  /** Opens {@code d} and keeps it open (a client mid-response); the callback reads it later. */
  protected abstract HeldReader hold(T tier, Digest d) throws Exception;

  /** A reader that a test opened earlier. */
  interface HeldReader {
    byte[] readAll() throws Exception;
  }

  private Digest putNew(T tier, long seed, int size) throws Exception {
    Reservation r = tier.reserve(size);
    assertThat(r).as("reservation of %d bytes", size).isNotNull();
    return put(tier, r, TestImages.bytes(seed, size));
  }

  @Test
  void put_thenRead_exactBytesAndAccounting() throws Exception {
    T tier = newTier(10_000);
    byte[] body = TestImages.bytes(1, 3_000);
    Reservation r = tier.reserve(3_000);
    assertThat(tier.reservedBytes()).isEqualTo(3_000);
    Digest d = put(tier, r, body);
    assertThat(read(tier, d)).isEqualTo(body);
    assertThat(tier.contains(d)).isTrue();
    assertThat(tier.sizeOf(d)).isEqualTo(3_000);
    assertThat(tier.usedBytes()).isEqualTo(3_000);
    assertThat(tier.reservedBytes()).isZero();
    assertThat(tier.entryCount()).isEqualTo(1);
    assertThat(victims).isEmpty();
  }

  @Test
  void read_absent_isNull() throws Exception {
    T tier = newTier(10_000);
    assertThat(read(tier, Digest.sha256Of(new byte[] {1}))).isNull();
    assertThat(tier.sizeOf(Digest.sha256Of(new byte[] {1}))).isEqualTo(-1);
  }

  @Test
  void reserve_countsAgainstBudget_andReleaseReturnsIt() throws Exception {
    T tier = newTier(10_000);
    Reservation a = tier.reserve(6_000);
    assertThat(a).isNotNull();
    assertThat(tier.reserve(5_000)).as("6000 reserved + 5000 > 10000, nothing to evict").isNull();
    a.release();
    a.release(); // idempotent
    assertThat(tier.reservedBytes()).isZero();
    assertThat(tier.reserve(10_000)).isNotNull();
  }

  @Test
  void reserve_largerThanBudget_refused() throws Exception {
    T tier = newTier(10_000);
    assertThat(tier.reserve(10_001)).isNull();
    assertThat(tier.reservedBytes()).isZero();
  }

  @Test
  void reserve_needingRoom_choosesLeastRecentlyUsed_whichStaysReadableUntilDeleted()
      throws Exception {
    T tier = newTier(10_000);
    Digest a = putNew(tier, 1, 4_000);
    Digest b = putNew(tier, 2, 4_000);
    assertThat(read(tier, a)).isNotNull(); // a is now more recent than b
    Reservation r = tier.reserve(4_000);
    assertThat(r).isNotNull();
    assertThat(victims).extracting(v -> v.digest).containsExactly(b);
    // Still findable and counted while it moves.
    assertThat(read(tier, b)).isEqualTo(TestImages.bytes(2, 4_000));
    assertThat(tier.usedBytes()).isEqualTo(8_000);
    tier.delete(b);
    assertThat(read(tier, b)).isNull();
    assertThat(tier.usedBytes()).isEqualTo(4_000);
    Digest c = put(tier, r, TestImages.bytes(3, 4_000));
    assertThat(tier.usedBytes()).isEqualTo(8_000);
    assertThat(read(tier, c)).isEqualTo(TestImages.bytes(3, 4_000));
  }

  @Test
  void reserve_victimsAlreadyLeaving_notChosenTwice() throws Exception {
    T tier = newTier(10_000);
    Digest a = putNew(tier, 1, 5_000);
    putNew(tier, 2, 5_000);
    assertThat(tier.reserve(5_000)).isNotNull();
    assertThat(victims).extracting(v -> v.digest).containsExactly(a);
    assertThat(tier.reserve(5_000)).isNotNull();
    assertThat(victims).hasSize(2).extracting(v -> v.digest).doesNotHaveDuplicates();
    assertThat(tier.reserve(1)).as("everything is reserved or leaving").isNull();
  }

  @Test
  void ensure_growsReservation_untilBudget() throws Exception {
    T tier = newTier(10_000);
    Reservation r = tier.reserve(0);
    assertThat(r.ensure(4_000)).isTrue();
    assertThat(tier.reservedBytes()).isEqualTo(4_000);
    assertThat(r.ensure(10_000)).isTrue();
    assertThat(r.ensure(10_001)).isFalse();
    assertThat(tier.reservedBytes()).isEqualTo(10_000);
    r.release();
    assertThat(tier.reservedBytes()).isZero();
  }

  @Test
  void put_largerThanItsReservation_evictsToStayWithinBudget() throws Exception {
    T tier = newTier(10_000);
    Digest a = putNew(tier, 1, 6_000);
    Reservation r = tier.reserve(0);
    put(tier, r, TestImages.bytes(2, 6_000));
    assertThat(victims).extracting(v -> v.digest).containsExactly(a);
    tier.delete(a);
    assertThat(tier.usedBytes()).isEqualTo(6_000);
  }

  @Test
  void put_sameDigestTwice_storedOnce() throws Exception {
    T tier = newTier(10_000);
    putNew(tier, 1, 2_000);
    putNew(tier, 1, 2_000);
    assertThat(tier.entryCount()).isEqualTo(1);
    assertThat(tier.usedBytes()).isEqualTo(2_000);
    assertThat(tier.reservedBytes()).isZero();
  }

  @Test
  void delete_whileAReaderHoldsTheBlob_readerGetsEveryByte() throws Exception {
    T tier = newTier(1_000_000);
    byte[] body = TestImages.bytes(9, 300_000);
    Digest d = put(tier, tier.reserve(body.length), body);
    HeldReader held = hold(tier, d);
    tier.delete(d);
    assertThat(read(tier, d)).isNull();
    assertThat(held.readAll()).isEqualTo(body);
  }
}
