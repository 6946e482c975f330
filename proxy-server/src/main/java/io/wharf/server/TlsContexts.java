package io.wharf.server;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.wharf.core.config.TlsConfig;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listener's TLS context, reloaded when the certificate or key file changes (a renewed
 * certificate from cert-manager or certbot is picked up without a restart). New connections get
 * the newest context; open ones keep theirs. A pair that fails to load is logged and the previous
 * context stays in use. TLS 1.2 and 1.3 only.
 */
final class TlsContexts {
  private static final Logger log = LoggerFactory.getLogger(TlsContexts.class);

  private final TlsConfig config;
  private final AtomicReference<SslContext> current = new AtomicReference<>();
  private volatile FileTime certTime;
  private volatile FileTime keyTime;

  TlsContexts(TlsConfig config, ScheduledExecutorService scheduler) {
    this.config = config;
    try {
      load();
    } catch (IOException | RuntimeException e) {
      throw new IllegalStateException("cannot load TLS certificate " + config.certificate()
          + " and key " + config.key() + ": " + e.getMessage(), e);
    }
    long every = config.reloadInterval().toMillis();
    scheduler.scheduleWithFixedDelay(this::reloadIfChanged, every, every, TimeUnit.MILLISECONDS);
  }

  SslContext current() {
    return current.get();
  }

  private void load() throws IOException {
    FileTime c = Files.getLastModifiedTime(Path.of(config.certificate()));
    FileTime k = Files.getLastModifiedTime(Path.of(config.key()));
    SslContext ctx = SslContextBuilder
        .forServer(new File(config.certificate()), new File(config.key()))
        .sslProvider(SslProvider.JDK)
        .protocols("TLSv1.3", "TLSv1.2")
        .build();
    current.set(ctx);
    certTime = c;
    keyTime = k;
  }

  void reloadIfChanged() {
    try {
      FileTime c = Files.getLastModifiedTime(Path.of(config.certificate()));
      FileTime k = Files.getLastModifiedTime(Path.of(config.key()));
      if (c.equals(certTime) && k.equals(keyTime)) {
        return;
      }
      load();
      log.info("reloaded TLS certificate {} and key {}", config.certificate(), config.key());
    } catch (IOException | RuntimeException e) {
      log.error("TLS certificate or key changed but cannot be loaded ({}); keeping the previous one",
          e.getMessage());
    }
  }
}
