package io.wharf.core.store;

/** A store directory's lock file is held: another Wharf instance (or {@code wharf fsck}) uses it. */
public final class StoreLockedException extends StoreException {
  public StoreLockedException(String message) {
    super(message, null);
  }
}
