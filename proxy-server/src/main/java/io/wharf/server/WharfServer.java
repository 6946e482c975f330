package io.wharf.server;

import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.SingleThreadEventExecutor;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.wharf.core.config.WharfConfig;
import io.wharf.core.config.TierConfig;
import io.wharf.core.fetch.BlobService;
import io.wharf.core.store.MemoryBlobCache;
import io.wharf.core.fetch.InFlightFetches;
import com.github.benmanes.caffeine.cache.Ticker;
import io.wharf.core.manifest.ManifestService;
import io.wharf.core.manifest.ReferrersCache;
import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.peer.Peers;
import io.wharf.core.config.TierConfig;
import io.wharf.core.store.DiskSpace;
import io.wharf.core.store.TieredStore;
import io.wharf.core.store.RepositoryLinks;
import io.wharf.core.access.RepositoryAuthorization;
import io.wharf.core.upstream.RegistryClient;
import io.wharf.core.upstream.UpstreamRouter;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Wharf: store, upstream clients, services and the Netty listener. Epoll where
 * available, NIO otherwise. {@link #close()} is the graceful shutdown: stop accepting, let
 * responses in flight finish within the grace period, then stop.
 */
public final class WharfServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(WharfServer.class);

  private final WharfConfig config;
  private final TieredStore store;
  private final RepositoryLinks links;
  private final ExecutorService diskExecutor;
  private final ExecutorService httpExecutor;
  /** Prefetch resolution and job bookkeeping: apart from the disk executor client requests use. */
  private final ExecutorService prefetchExecutor;
  private final ScheduledExecutorService scheduler;
  private final List<RegistryClient> clients = new ArrayList<>();
  private final Services services;
  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final ChannelGroup channels = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  private Channel listener;
  private Channel adminListener;
  private final String peerToken;
  private Peers peers;
  private boolean closed;

  private WharfServer(WharfConfig config, Map<String, String> env, DiskSpace space) {
    this.config = config;
    this.peerToken = config.peers() == null ? null : config.peers().resolveToken(env);
    long t0 = System.nanoTime();
    this.diskExecutor = boundedPool("wharf-disk", 16, 100_000);
    this.httpExecutor = boundedPool("wharf-upstream", 8, 100_000);
    this.prefetchExecutor = boundedPool("wharf-prefetch", 2, 100_000);
    this.scheduler = Executors.newSingleThreadScheduledExecutor(new DefaultThreadFactory("wharf-timer", true));
    PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    WharfMeters meters = new WharfMeters(prometheus);
    try {
      this.store = TieredStore.open(config.storage(), space, diskExecutor,
          System::currentTimeMillis, meters);
    } catch (RuntimeException e) {
      diskExecutor.shutdown();
      httpExecutor.shutdown();
      prefetchExecutor.shutdown();
      scheduler.shutdownNow();
      throw e;
    }
    store.scheduleRetention(scheduler);
    new JvmMemoryMetrics().bindTo(prometheus);
    new JvmGcMetrics().bindTo(prometheus);
    new JvmThreadMetrics().bindTo(prometheus);
    new ProcessorMetrics().bindTo(prometheus);
    store.tiers().forEach(t -> meters.storeFilesystem(t.name(), t.root()));
    config.upstreams().forEach(u -> clients.add(new RegistryClient(u, env, httpExecutor, meters)));
    UpstreamRouter router = new UpstreamRouter(clients, config.defaultUpstream(),
        config.unknownRegistry() == WharfConfig.UnknownRegistry.useDefault);
    InFlightFetches inFlight = new InFlightFetches(store, diskExecutor, scheduler, meters);
    TierConfig memoryTier = config.storage().memory();
    BlobService blobs = new BlobService(store, inFlight, diskExecutor, memoryTier == null ? null
        : new MemoryBlobCache(memoryTier.maxBytes() - memoryTier.maxBytes() / 4,
            memoryTier.maxObjectBytes(), meters));
    TierConfig memory = config.storage().memory();
    ManifestService manifests = ManifestService.create(store.primary(), diskExecutor, meters,
        memory == null ? ManifestService.DEFAULT_MEMORY_BYTES : memory.maxBytes() / 4);
    ReferrersCache referrers = new ReferrersCache(diskExecutor, Ticker.systemTicker());
    // Which repositories may be served which cached digests (SECURITY.md, "Repository links").
    try {
      this.links = RepositoryLinks.open(store.primary().root().resolve("links"), diskExecutor,
          d -> store.blobSize(d).isPresent() || store.primary().hasManifest(d));
    } catch (RuntimeException e) {
      store.close();
      diskExecutor.shutdown();
      httpExecutor.shutdown();
      prefetchExecutor.shutdown();
      scheduler.shutdownNow();
      throw e;
    }
    RepositoryAuthorization repositories = new RepositoryAuthorization(links, manifests, blobs,
        meters, diskExecutor, Ticker.systemTicker());
    this.services = new Services(config, router, blobs, manifests, referrers, meters, prometheus,
        diskExecutor, repositories);
    IoHandlerFactory io = Epoll.isAvailable() ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    this.boss = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("wharf-accept"), io);
    this.workers = new MultiThreadIoEventLoopGroup(config.server().workerThreads(),
        new DefaultThreadFactory("wharf-io"), io);
    meters.nettyDirectMemory(
        () -> PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory());
    meters.nettyPendingTasks(() -> {
      int n = 0;
      for (EventExecutor e : workers) {
        if (e instanceof SingleThreadEventExecutor st) {
          n += st.pendingTasks();
        }
      }
      return n;
    });
    log.info("store {} opened and services built in {} ms", store.primary().root(),
        (System.nanoTime() - t0) / 1_000_000);
  }

  private static ExecutorService boundedPool(String name, int threads, int queue) {
    ThreadPoolExecutor p = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(queue), new DefaultThreadFactory(name, true));
    p.allowCoreThreadTimeOut(true);
    return p;
  }

  /** Builds and binds a server; the port is {@link #port()}. */
  public static WharfServer start(WharfConfig config) {
    return start(config, System.getenv());
  }

  public static WharfServer start(WharfConfig config, Map<String, String> env) {
    return start(config, env, DiskSpace.system());
  }

  /** With a fake view of free disk space (tests: a full disk cannot be made on demand). */
  static WharfServer start(WharfConfig config, Map<String, String> env, DiskSpace space) {
    WharfServer s = new WharfServer(config, env, space);
    try {
      s.bind();
    } catch (RuntimeException e) {
      s.close();
      throw e;
    }
    return s;
  }

  private void bind() {
    WharfConfig.HostPort hp = WharfConfig.HostPort.parse(config.listen(), "listen");
    Class<? extends ServerChannel> channelClass =
        Epoll.isAvailable() ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    ServerBootstrap b = new ServerBootstrap()
        .group(boss, workers)
        .channel(channelClass)
        .option(ChannelOption.SO_BACKLOG, 4096)
        .option(ChannelOption.SO_REUSEADDR, true)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childOption(ChannelOption.SO_KEEPALIVE, true)
        .childHandler(new WharfChannelInitializer(services, channels,
            config.server().tls() == null ? null : new TlsContexts(config.server().tls(), scheduler)));
    try {
      listener = b.bind(new InetSocketAddress(hp.host(), hp.port())).sync().channel();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while binding " + config.listen(), e);
    } catch (Exception e) {
      throw new IllegalStateException("cannot listen on " + config.listen() + ": " + e.getMessage(), e);
    }
    if (config.admin() != null) {
      bindAdmin();
    }
    if (config.peers() != null) {
      // After binding: with port 0 the listen port is only known now, and it tells which
      // member is this instance.
      peers = Peers.start(config.peers(), port(), peerToken, httpExecutor, scheduler,
          services.meters());
      services.peers = peers;
      services.blobs().routing(peers);
    }
    services.ready.set(true);
    config.ambiguousRegistries().forEach(w -> log.warn("{}", w));
    log.info("Wharf listening on {} ({}, {}), upstreams {}, default {}", listener.localAddress(),
        Epoll.isAvailable() ? "epoll" : "nio", config.server().tls() == null ? "plain HTTP" : "TLS",
        config.upstreams().stream().map(u -> u.name() + "=" + u.url()).toList(),
        config.defaultUpstream());
  }

  private void bindAdmin() {
    WharfConfig.HostPort hp = WharfConfig.HostPort.parse(config.admin().listen(), "admin.listen");
    io.wharf.core.prefetch.PrefetchJobs jobs = new io.wharf.core.prefetch.PrefetchJobs(
        new io.wharf.core.prefetch.ImageResolver(services.router(), services.manifests(),
            prefetchExecutor),
        services.blobs(), store.pins(), prefetchExecutor, System::currentTimeMillis);
    io.wharf.server.handler.AdminHandler handler = new io.wharf.server.handler.AdminHandler(
        services, config.admin().resolveToken(System.getenv()),
        new io.wharf.server.handler.AdminApi(services, jobs), isLoopback(hp.host()));
    ServerBootstrap b = new ServerBootstrap()
        .group(boss, workers)
        .channel(Epoll.isAvailable() ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
        .childHandler(new io.netty.channel.ChannelInitializer<io.netty.channel.socket.SocketChannel>() {
          @Override
          protected void initChannel(io.netty.channel.socket.SocketChannel ch) {
            channels.add(ch);
            ch.pipeline().addLast(new io.netty.handler.codec.http.HttpServerCodec(4096, 8192, 8192),
                new io.netty.handler.codec.http.HttpObjectAggregator(ADMIN_MAX_BODY),
                new io.netty.handler.timeout.ReadTimeoutHandler(60),
                handler);
          }
        });
    try {
      adminListener = b.bind(new InetSocketAddress(hp.host(), hp.port())).sync().channel();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while binding " + config.admin().listen(), e);
    } catch (Exception e) {
      throw new IllegalStateException("cannot listen on admin address " + config.admin().listen()
          + ": " + e.getMessage(), e);
    }
    log.info("admin listener on {} (/metrics and /admin/*{}, /healthz, /readyz)", adminListener.localAddress(),
        config.admin().token() != null || config.admin().tokenFile() != null
            || config.admin().tokenEnv() != null ? " behind a token" : "");
  }

  /** Largest admin request body (a prefetch of {@code MAX_IMAGES} references fits). */
  private static final int ADMIN_MAX_BODY = 1 << 20;

  private static boolean isLoopback(String host) {
    try {
      for (java.net.InetAddress a : java.net.InetAddress.getAllByName(host)) {
        if (!a.isLoopbackAddress()) {
          return false;
        }
      }
      return true;
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  /** Port of the admin listener, or -1 when there is none. */
  public int adminPort() {
    return adminListener == null ? -1 : ((InetSocketAddress) adminListener.localAddress()).getPort();
  }

  public int port() {
    return ((InetSocketAddress) listener.localAddress()).getPort();
  }

  public Services services() {
    return services;
  }

  public WharfConfig config() {
    return config;
  }

  /** Graceful stop: no new connections, finish responses within the grace period, stop. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    services.draining.set(true);
    services.ready.set(false);
    if (listener != null) {
      listener.close().syncUninterruptibly();
    }
    if (adminListener != null) {
      adminListener.close().syncUninterruptibly();
    }
    long grace = config.server().shutdownGrace().toMillis();
    try {
      // Idle keep-alive connections can go now; busy ones close after their response.
      channels.forEach(ch -> ch.pipeline().fireUserEventTriggered(Services.DRAIN));
      if (!services.awaitIdle(grace)) {
        log.warn("{} responses still running after the {} ms grace period; closing them",
            services.activeResponses(), grace);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    channels.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    clients.forEach(RegistryClient::close);
    if (peers != null) {
      peers.close();
    }
    scheduler.shutdownNow();
    prefetchExecutor.shutdown();
    diskExecutor.shutdown();
    httpExecutor.shutdown();
    try {
      diskExecutor.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    links.close();
    store.close();
    log.info("Wharf stopped");
  }
}
