package server

import (
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func ctrReq(mut func(*runtimeapi.ContainerConfig)) *runtimeapi.CreateContainerRequest {
	c := goodCtr()
	mut(c)
	return &runtimeapi.CreateContainerRequest{PodSandboxId: "p", Config: c}
}

func TestValidateCreateContainer(t *testing.T) {
	checkCases(t, []reqCase{
		ok(ctrReq(func(c *runtimeapi.ContainerConfig) { c.Metadata.Name = "Side_Car;v2" })),
		bad(ctrReq(func(c *runtimeapi.ContainerConfig) { c.Metadata = nil }), "config.metadata.name is required"),
		bad(ctrReq(func(c *runtimeapi.ContainerConfig) { c.Image = nil }), "config.image.image is required"),
		bad(ctrReq(func(c *runtimeapi.ContainerConfig) { c.Metadata.Name = strings.Repeat("c", 254) }), "metadata.name"),
		bad(ctrReq(func(c *runtimeapi.ContainerConfig) { c.Metadata.Name = "c\n" }), "metadata.name"),
		bad(ctrReq(func(c *runtimeapi.ContainerConfig) { c.LogPath = "a/../../b" }), "log_path"),
		ok(ctrReq(func(c *runtimeapi.ContainerConfig) {
			c.CDIDevices = []*runtimeapi.CDIDevice{{Name: "a.com/x=1"}, {Name: "b.com/y=2"}}
		})),
		bad(ctrReq(func(c *runtimeapi.ContainerConfig) {
			c.CDIDevices = []*runtimeapi.CDIDevice{{Name: "a.com/x=1"}, {Name: "gpu0"}}
		}), `config.cdi_devices[1].name: "gpu0"`),
		bad(ctrReq(func(c *runtimeapi.ContainerConfig) {
			c.Linux.SecurityContext.NamespaceOptions = &runtimeapi.NamespaceOption{Ipc: 99}
		}), "namespace_options.ipc"),
		bad(ctrReq(func(c *runtimeapi.ContainerConfig) {
			c.Linux.SecurityContext.NamespaceOptions = &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_TARGET}
		}), "namespace_options.target_id is required with pid mode TARGET"),
		ok(ctrReq(func(c *runtimeapi.ContainerConfig) {
			c.Linux.SecurityContext.NamespaceOptions = &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_TARGET, TargetId: "t"}
		})),
	})
}
