// kube-network-policies as kubedojo runs it: a host daemon of the local cluster that enforces
// NetworkPolicy with the controller of sigs.k8s.io/kube-network-policies (package networkpolicy).
// Written by kubedojo; its build puts this file in the build module in place of upstream's cmd/.
//
// What differs from upstream's command (v0.8.0):
//   - -kubeconfig: the API server and client certificate come from a kubeconfig file (upstream
//     knows only the in-cluster service-account configuration);
//   - SIGTERM stops it as SIGINT does: the controller deletes its nftables table before exiting;
//   - NetworkPolicy only (no AdminNetworkPolicy flags);
//   - it exits non-zero when the controller or the metrics server stops on its own, so a
//     supervisor sees a dead enforcer rather than one that answers /metrics and enforces nothing.

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/kube-network-policies/pkg/networkpolicy"
)

// How long the controller may take to delete its nftables table once asked to stop (kubedojo
// sends SIGKILL five seconds after SIGTERM).
const stopGrace = 4 * time.Second

func main() {
	os.Exit(run())
}

func run() int {
	var (
		kubeconfig  string
		nodeName    string
		queueID     int
		failOpen    bool
		metricsAddr string
		bug1766Fix  bool
	)
	flag.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file for the API server; empty: the in-cluster service account")
	flag.StringVar(&nodeName, "hostname-override", "", "the Node whose pods are policed; empty: this machine's host name")
	flag.IntVar(&queueID, "nfqueue-id", 100, "netfilter queue the first packet of each policed connection is sent to")
	flag.BoolVar(&failOpen, "fail-open", false, "accept packets while nothing reads the queue (instead of dropping them)")
	flag.StringVar(&metricsAddr, "metrics-bind-address", "127.0.0.1:9080", "address of the Prometheus /metrics endpoint")
	flag.BoolVar(&bug1766Fix, "netfilter-bug-1766-fix", true, "also queue DNS in PREROUTING (a conntrack race fixed in Linux 6.12)")
	klog.InitFlags(flag.CommandLine)
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: %s [flags]\n\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "unexpected arguments: %v\n", flag.Args())
		return 2
	}
	if _, _, err := net.SplitHostPort(metricsAddr); err != nil {
		fmt.Fprintf(os.Stderr, "-metrics-bind-address %q: %v\n", metricsAddr, err)
		return 2
	}
	if nodeName == "" {
		name, err := os.Hostname()
		if err != nil {
			fmt.Fprintf(os.Stderr, "no -hostname-override and no host name: %v\n", err)
			return 2
		}
		nodeName = name
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	restConfig, err := clientConfig(kubeconfig)
	if err != nil {
		klog.ErrorS(err, "cannot configure the API client", "kubeconfig", kubeconfig)
		return 1
	}
	// Core objects in protobuf: smaller and faster to decode than JSON for a cluster's pods.
	restConfig.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	restConfig.ContentType = "application/vnd.kubernetes.protobuf"
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		klog.ErrorS(err, "cannot make the API client")
		return 1
	}

	listener, err := net.Listen("tcp", metricsAddr)
	if err != nil {
		klog.ErrorS(err, "cannot serve metrics", "address", metricsAddr)
		return 1
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.Handler())
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	serveFailed := make(chan error, 1)
	go func() { serveFailed <- server.Serve(listener) }()
	defer server.Close()

	factory := informers.NewSharedInformerFactory(client, 0)
	controller, err := networkpolicy.NewController(
		client,
		factory.Networking().V1().NetworkPolicies(),
		factory.Core().V1().Namespaces(),
		factory.Core().V1().Pods(),
		nil, // Nodes: only for AdminNetworkPolicy
		nil,
		nil,
		nil,
		networkpolicy.Config{
			FailOpen:            failOpen,
			QueueID:             queueID,
			NodeName:            nodeName,
			NetfilterBug1766Fix: bug1766Fix,
		},
	)
	if err != nil {
		klog.ErrorS(err, "cannot make the network policy controller")
		return 1
	}
	klog.InfoS("enforcing NetworkPolicy", "node", nodeName, "queue", queueID, "failOpen", failOpen,
		"metrics", metricsAddr)

	// Run deletes the controller's nftables table when it returns (once its rules were written).
	controllerDone := make(chan error, 1)
	go func() { controllerDone <- controller.Run(ctx) }()
	factory.Start(ctx.Done())

	select {
	case <-ctx.Done():
		klog.InfoS("stopping: the controller deletes its nftables table")
		waitStopped(controllerDone)
		return 0
	case err := <-controllerDone:
		if ctx.Err() != nil {
			return 0
		}
		if err == nil {
			err = errors.New("returned without being asked to stop")
		}
		klog.ErrorS(err, "the network policy controller stopped")
		return 1
	case err := <-serveFailed:
		klog.ErrorS(err, "the metrics server stopped")
		stop()
		waitStopped(controllerDone)
		return 1
	}
}

// waitStopped waits until the controller has returned, for at most stopGrace.
func waitStopped(controllerDone <-chan error) {
	select {
	case <-controllerDone:
	case <-time.After(stopGrace):
		klog.InfoS("the controller did not stop in time", "waited", stopGrace)
	}
}

// clientConfig reads the kubeconfig file, or without one the in-cluster configuration.
func clientConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		return rest.InClusterConfig()
	}
	return clientcmd.BuildConfigFromFlags("", kubeconfig)
}
