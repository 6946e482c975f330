package io.wharf.core.store;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Where one fetch writes: a tier, a reservation of its budget and a temp file in its {@code
 * tmp/}. Made by {@link TieredStore#place}; ended by {@link TieredStore#commit} or {@link
 * TieredStore#abandon}. One owner (the fetch's serial executor).
 */
public final class Placement {
  private final DiskTier tier;
  private final Reservation reservation;
  private final Path tempPath;

  Placement(DiskTier tier, Reservation reservation, Path tempPath) {
    this.tier = tier;
    this.reservation = reservation;
    this.tempPath = tempPath;
  }

  DiskTier tier() {
    return tier;
  }

  Reservation reservation() {
    return reservation;
  }

  public String tierName() {
    return tier.name();
  }

  public Path tempPath() {
    return tempPath;
  }

  /**
   * Grows the reservation to {@code totalBytes} when a blob of unknown length outgrows it; false
   * if the tier has no room for that.
   */
  public boolean ensure(long totalBytes) {
    return reservation.ensure(totalBytes);
  }

  /** A write to the temp file failed: the tier is skipped by placements for a while. */
  public void writeFailed(IOException e) {
    tier.writeFailed(e);
  }
}
