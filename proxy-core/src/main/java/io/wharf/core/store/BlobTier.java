package io.wharf.core.store;

import io.wharf.core.oci.Digest;
import java.io.IOException;
import java.nio.file.Path;

/**
 * One tier of the blob store: a byte budget, an index of the blobs it holds, and reservations for
 * blobs on their way in. {@code BlobTierContract} is the test every implementation passes.
 *
 * <p>Evicting is two-step, so a blob stays findable while it moves: {@link #reserve} (or a commit
 * that outgrows its reservation) chooses least-recently-used victims and hands them to the tier's
 * evictor, which copies each one down and then calls {@link #delete}. Until then the victim is
 * still served from this tier.
 */
public interface BlobTier {

  /** Metric and log name: {@code memory}, {@code disk0}, {@code disk1}, … */
  String name();

  long maxBytes();

  /** Bytes of the blobs in the tier (those on their way out included). */
  long usedBytes();

  /** Bytes promised to fetches or copies in progress. */
  long reservedBytes();

  int entryCount();

  boolean contains(Digest d);

  /** Size of a blob in the tier, or -1; does not count as a use. */
  long sizeOf(Digest d);

  /**
   * Promises {@code bytes} of the budget to a blob on its way in, choosing victims if needed; null
   * when the tier cannot take them now (budget, free-space floor, or a recent write failure).
   * Blocking (checks free space).
   */
  Reservation reserve(long bytes);

  /**
   * Takes in a verified, fsynced file named by nothing yet as blob {@code d}, using (and closing)
   * {@code r}. The file is moved or copied; it no longer belongs to the caller afterwards.
   * Blocking.
   */
  void commit(Reservation r, Digest d, Path verifiedFile) throws IOException;

  /** Removes {@code d} from the index and its bytes from the tier. Readers holding it are safe. */
  void delete(Digest d) throws IOException;
}
