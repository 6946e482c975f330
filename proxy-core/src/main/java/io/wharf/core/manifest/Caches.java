package io.wharf.core.manifest;

import com.github.benmanes.caffeine.cache.AsyncCache;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.BiFunction;

/** Helpers for Caffeine async caches. */
final class Caches {
  private Caches() {}

  /**
   * {@link AsyncCache#get}, except that a failed future left in the cache is never handed out.
   * Caffeine removes a failed entry from a callback on the future, which may run after another
   * caller already picked the entry up; failures must never be cached, so such an entry is
   * dropped and loaded afresh.
   */
  static <K, V> CompletableFuture<V> get(
      AsyncCache<K, V> cache,
      K key,
      BiFunction<? super K, ? super Executor, ? extends CompletableFuture<? extends V>> loader) {
    CompletableFuture<V> f = cache.get(key, loader);
    if (f.isCompletedExceptionally()) {
      cache.asMap().remove(key, f);
      f = cache.get(key, loader);
    }
    return f;
  }
}
