// Written by kubedojo and added to its build of sigs.k8s.io/kube-network-policies (package
// networkpolicy); kubedojo's build replaces the package's two `expr.Queue` blocks with a call to
// nfqueueTarget (kubedojo/local/binaries.py, KUBE_NETWORK_POLICIES).
//
// Why: the nftables `queue` expression needs the kernel's nft_queue (CONFIG_NFT_QUEUE), which
// some kernels lack; there the whole rule batch is refused and no policy is enforced. The iptables
// NFQUEUE target, used from nftables through nft_compat, sends packets to the same queue with the
// same bypass behaviour and needs only CONFIG_NFT_COMPAT and CONFIG_NETFILTER_XT_TARGET_NFQUEUE.

package networkpolicy

import (
	"encoding/binary"

	"github.com/google/nftables/expr"
	"github.com/google/nftables/xt"
)

// nfqueueBypass is NFQ_FLAG_BYPASS of <linux/netfilter/xt_NFQUEUE.h>: accept the packet when no
// program listens on the queue, instead of dropping it.
const nfqueueBypass = 0x01

// nfqueueTarget is the xt NFQUEUE target, revision 3, sending a packet to queue queueID; with
// failOpen the packet is accepted while nobody reads the queue.
func nfqueueTarget(queueID int, failOpen bool) expr.Any {
	// struct xt_NFQ_info_v3 { __u16 queuenum; __u16 queues_total; __u16 flags; }, host byte order.
	info := make([]byte, 6)
	binary.NativeEndian.PutUint16(info[0:2], uint16(queueID))
	binary.NativeEndian.PutUint16(info[2:4], 1)
	var flags uint16
	if failOpen {
		flags |= nfqueueBypass
	}
	binary.NativeEndian.PutUint16(info[4:6], flags)
	payload := xt.Unknown(info)
	return &expr.Target{Name: "NFQUEUE", Rev: 3, Info: &payload}
}
