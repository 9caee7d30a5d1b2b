"""Kubernetes protobuf request bodies for the API simulator, without a protobuf library.

What: ``decode_body`` turns a ``application/vnd.kubernetes.protobuf`` request body (the
``k8s\\x00`` magic followed by a ``runtime.Unknown`` envelope) into the dict the JSON
encoding of the same object would give, and ``encode_object`` does the reverse.

Why: typed client-go clients -- helm's release storage (Secrets), ``kubectl create
secret|configmap|namespace|serviceaccount|deployment|job|cronjob|service`` -- send
protobuf bodies and never fall back to JSON, so the simulator must read them to accept
the real helm and kubectl binaries.

How: a tiny wire-format codec (varint, length-delimited, fixed32/fixed64) driven by the
message schemas in ``_SCHEMA_TEXT``.  Field numbers, types, pointer-ness (gogoproto
``nullable``) and JSON names come from the ``k8s.io/api`` and ``k8s.io/apimachinery``
``generated.proto`` descriptors (v1.34) as compiled into kubectl, and JSON ``omitempty``
from the Go struct tags; see the schema notation below.

JSON mapping rules (what Go's ``encoding/json`` would produce for the decoded struct):

* ``bytes`` become base64 strings (``Secret.data``, ``ConfigMap.binaryData``);
* ``Time`` becomes RFC 3339 with seconds (``2024-01-01T00:00:00Z``), ``MicroTime`` with
  six fractional digits; a zero time (JSON ``null``) is left out;
* ``Quantity`` becomes its string, ``IntOrString`` an int or a string, ``FieldsV1`` the
  JSON object it carries;
* scalars that are Go pointers are kept whenever present on the wire (``replicas: 0``),
  plain scalars are left out when zero unless their JSON tag has no ``omitempty``;
  non-pointer structs are always present (``"resources": {}``), as in Go's JSON;
* empty lists and maps are left out; unknown field numbers are skipped.

``encode_object`` writes fields the way gogo-protobuf does (ascending field numbers,
non-pointer fields always, map keys sorted), so decoding a captured body and encoding the
result gives the captured bytes back.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "MAGIC",
    "PROTOBUF_CONTENT_TYPE",
    "SUPPORTED_KINDS",
    "ProtobufError",
    "UnsupportedKind",
    "decode_body",
    "decode_message",
    "encode_message",
    "encode_object",
    "is_protobuf",
]

PROTOBUF_CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"


class ProtobufError(ValueError):
    """The body is not valid Kubernetes protobuf (bad envelope, truncated or mistyped field)."""


class UnsupportedKind(Exception):  # noqa: N818 -- the name is part of the simulator's API
    """The envelope names a kind this module has no message schema for."""

    def __init__(self, api_version: str, kind: str) -> None:
        super().__init__(f"no protobuf schema for {api_version}, Kind={kind}")
        self.api_version = api_version
        self.kind = kind


# ---------------------------------------------------------------------------------------
# Message schemas.
#
# One message a line: ``Name: <number> <jsonName> <type>, ...`` in field-number order.
# Types: ``str``, ``bytes``, ``int`` (int32/int64 varint), ``bool``; the well-known
# ``Time``, ``MicroTime``, ``Quantity``, ``IntOrString``, ``FieldsV1``; or a message name.
# ``[T]`` is a repeated field, ``{T}`` a ``map<string, T>``, ``*M`` an embedded struct
# whose fields are inlined into the parent's JSON.  Suffix ``?`` marks a Go pointer (kept
# when present, even if zero); suffix ``!`` marks a non-pointer scalar without
# ``omitempty`` (always in JSON) or a non-pointer struct (always in JSON and on the wire).
# ---------------------------------------------------------------------------------------
_SCHEMA_TEXT = """
Secret: 1 metadata ObjectMeta!, 2 data {bytes}, 3 type str, 4 stringData {str}, 5 immutable bool?
ObjectMeta: 1 name str, 2 generateName str, 3 namespace str, 4 selfLink str, 5 uid str, 6 resourceVersion str, 7 generation int, 8 creationTimestamp Time!, 9 deletionTimestamp Time, 10 deletionGracePeriodSeconds int?, 11 labels {str}, 12 annotations {str}, 13 ownerReferences [OwnerReference], 14 finalizers [str], 17 managedFields [ManagedFieldsEntry]
OwnerReference: 1 kind str!, 3 name str!, 4 uid str!, 5 apiVersion str!, 6 controller bool?, 7 blockOwnerDeletion bool?
ManagedFieldsEntry: 1 manager str, 2 operation str, 3 apiVersion str, 4 time Time, 6 fieldsType str, 7 fieldsV1 FieldsV1, 8 subresource str
ConfigMap: 1 metadata ObjectMeta!, 2 data {str}, 3 binaryData {bytes}, 4 immutable bool?
Namespace: 1 metadata ObjectMeta!, 2 spec NamespaceSpec!, 3 status NamespaceStatus!
NamespaceSpec: 1 finalizers [str]
NamespaceStatus: 1 phase str, 2 conditions [NamespaceCondition]
NamespaceCondition: 1 type str!, 2 status str!, 4 lastTransitionTime Time!, 5 reason str, 6 message str
ServiceAccount: 1 metadata ObjectMeta!, 2 secrets [ObjectReference], 3 imagePullSecrets [LocalObjectReference], 4 automountServiceAccountToken bool?
ObjectReference: 1 kind str, 2 namespace str, 3 name str, 4 uid str, 5 apiVersion str, 6 resourceVersion str, 7 fieldPath str
LocalObjectReference: 1 name str
Event: 1 metadata ObjectMeta!, 2 involvedObject ObjectReference!, 3 reason str, 4 message str, 5 source EventSource!, 6 firstTimestamp Time!, 7 lastTimestamp Time!, 8 count int, 9 type str, 10 eventTime MicroTime!, 11 series EventSeries, 12 action str, 13 related ObjectReference, 14 reportingComponent str!, 15 reportingInstance str!
EventSource: 1 component str, 2 host str
EventSeries: 1 count int, 2 lastObservedTime MicroTime!
Pod: 1 metadata ObjectMeta!, 2 spec PodSpec!, 3 status PodStatus!
PodSpec: 1 volumes [Volume], 2 containers [Container], 3 restartPolicy str, 4 terminationGracePeriodSeconds int?, 5 activeDeadlineSeconds int?, 6 dnsPolicy str, 7 nodeSelector {str}, 8 serviceAccountName str, 9 serviceAccount str, 10 nodeName str, 11 hostNetwork bool, 12 hostPID bool, 13 hostIPC bool, 14 securityContext PodSecurityContext, 15 imagePullSecrets [LocalObjectReference], 16 hostname str, 17 subdomain str, 18 affinity Affinity, 19 schedulerName str, 20 initContainers [Container], 21 automountServiceAccountToken bool?, 22 tolerations [Toleration], 23 hostAliases [HostAlias], 24 priorityClassName str, 25 priority int?, 26 dnsConfig PodDNSConfig, 27 shareProcessNamespace bool?, 28 readinessGates [PodReadinessGate], 29 runtimeClassName str?, 30 enableServiceLinks bool?, 31 preemptionPolicy str?, 32 overhead {Quantity}, 33 topologySpreadConstraints [TopologySpreadConstraint], 34 ephemeralContainers [EphemeralContainer], 35 setHostnameAsFQDN bool?, 36 os PodOS, 37 hostUsers bool?, 38 schedulingGates [PodSchedulingGate], 39 resourceClaims [PodResourceClaim], 40 resources ResourceRequirements, 41 hostnameOverride str?
Volume: 1 name str!, 2 volumeSource *VolumeSource
VolumeSource: 1 hostPath HostPathVolumeSource, 2 emptyDir EmptyDirVolumeSource, 3 gcePersistentDisk GCEPersistentDiskVolumeSource, 4 awsElasticBlockStore AWSElasticBlockStoreVolumeSource, 5 gitRepo GitRepoVolumeSource, 6 secret SecretVolumeSource, 7 nfs NFSVolumeSource, 8 iscsi ISCSIVolumeSource, 9 glusterfs GlusterfsVolumeSource, 10 persistentVolumeClaim PersistentVolumeClaimVolumeSource, 11 rbd RBDVolumeSource, 12 flexVolume FlexVolumeSource, 13 cinder CinderVolumeSource, 14 cephfs CephFSVolumeSource, 15 flocker FlockerVolumeSource, 16 downwardAPI DownwardAPIVolumeSource, 17 fc FCVolumeSource, 18 azureFile AzureFileVolumeSource, 19 configMap ConfigMapVolumeSource, 20 vsphereVolume VsphereVirtualDiskVolumeSource, 21 quobyte QuobyteVolumeSource, 22 azureDisk AzureDiskVolumeSource, 23 photonPersistentDisk PhotonPersistentDiskVolumeSource, 24 portworxVolume PortworxVolumeSource, 25 scaleIO ScaleIOVolumeSource, 26 projected ProjectedVolumeSource, 27 storageos StorageOSVolumeSource, 28 csi CSIVolumeSource, 29 ephemeral EphemeralVolumeSource, 30 image ImageVolumeSource
HostPathVolumeSource: 1 path str!, 2 type str?
EmptyDirVolumeSource: 1 medium str, 2 sizeLimit Quantity
GCEPersistentDiskVolumeSource: 1 pdName str!, 2 fsType str, 3 partition int, 4 readOnly bool
AWSElasticBlockStoreVolumeSource: 1 volumeID str!, 2 fsType str, 3 partition int, 4 readOnly bool
GitRepoVolumeSource: 1 repository str!, 2 revision str, 3 directory str
SecretVolumeSource: 1 secretName str, 2 items [KeyToPath], 3 defaultMode int?, 4 optional bool?
KeyToPath: 1 key str!, 2 path str!, 3 mode int?
NFSVolumeSource: 1 server str!, 2 path str!, 3 readOnly bool
ISCSIVolumeSource: 1 targetPortal str!, 2 iqn str!, 3 lun int!, 4 iscsiInterface str, 5 fsType str, 6 readOnly bool, 7 portals [str], 8 chapAuthDiscovery bool, 10 secretRef LocalObjectReference, 11 chapAuthSession bool, 12 initiatorName str?
GlusterfsVolumeSource: 1 endpoints str!, 2 path str!, 3 readOnly bool
PersistentVolumeClaimVolumeSource: 1 claimName str!, 2 readOnly bool
RBDVolumeSource: 1 monitors [str], 2 image str!, 3 fsType str, 4 pool str, 5 user str, 6 keyring str, 7 secretRef LocalObjectReference, 8 readOnly bool
FlexVolumeSource: 1 driver str!, 2 fsType str, 3 secretRef LocalObjectReference, 4 readOnly bool, 5 options {str}
CinderVolumeSource: 1 volumeID str!, 2 fsType str, 3 readOnly bool, 4 secretRef LocalObjectReference
CephFSVolumeSource: 1 monitors [str], 2 path str, 3 user str, 4 secretFile str, 5 secretRef LocalObjectReference, 6 readOnly bool
FlockerVolumeSource: 1 datasetName str, 2 datasetUUID str
DownwardAPIVolumeSource: 1 items [DownwardAPIVolumeFile], 2 defaultMode int?
DownwardAPIVolumeFile: 1 path str!, 2 fieldRef ObjectFieldSelector, 3 resourceFieldRef ResourceFieldSelector, 4 mode int?
ObjectFieldSelector: 1 apiVersion str, 2 fieldPath str!
ResourceFieldSelector: 1 containerName str, 2 resource str!, 3 divisor Quantity!
FCVolumeSource: 1 targetWWNs [str], 2 lun int?, 3 fsType str, 4 readOnly bool, 5 wwids [str]
AzureFileVolumeSource: 1 secretName str!, 2 shareName str!, 3 readOnly bool
ConfigMapVolumeSource: 1 localObjectReference *LocalObjectReference, 2 items [KeyToPath], 3 defaultMode int?, 4 optional bool?
VsphereVirtualDiskVolumeSource: 1 volumePath str!, 2 fsType str, 3 storagePolicyName str, 4 storagePolicyID str
QuobyteVolumeSource: 1 registry str!, 2 volume str!, 3 readOnly bool, 4 user str, 5 group str, 6 tenant str
AzureDiskVolumeSource: 1 diskName str!, 2 diskURI str!, 3 cachingMode str?, 4 fsType str?, 5 readOnly bool?, 6 kind str?
PhotonPersistentDiskVolumeSource: 1 pdID str!, 2 fsType str
ProjectedVolumeSource: 1 sources [VolumeProjection], 2 defaultMode int?
VolumeProjection: 1 secret SecretProjection, 2 downwardAPI DownwardAPIProjection, 3 configMap ConfigMapProjection, 4 serviceAccountToken ServiceAccountTokenProjection, 5 clusterTrustBundle ClusterTrustBundleProjection, 6 podCertificate PodCertificateProjection
SecretProjection: 1 localObjectReference *LocalObjectReference, 2 items [KeyToPath], 4 optional bool?
DownwardAPIProjection: 1 items [DownwardAPIVolumeFile]
ConfigMapProjection: 1 localObjectReference *LocalObjectReference, 2 items [KeyToPath], 4 optional bool?
ServiceAccountTokenProjection: 1 audience str, 2 expirationSeconds int?, 3 path str!
ClusterTrustBundleProjection: 1 name str?, 2 signerName str?, 3 labelSelector LabelSelector, 4 path str!, 5 optional bool?
LabelSelector: 1 matchLabels {str}, 2 matchExpressions [LabelSelectorRequirement]
LabelSelectorRequirement: 1 key str!, 2 operator str!, 3 values [str]
PodCertificateProjection: 1 signerName str, 2 keyType str, 3 maxExpirationSeconds int?, 4 credentialBundlePath str, 5 keyPath str, 6 certificateChainPath str
PortworxVolumeSource: 1 volumeID str!, 2 fsType str, 3 readOnly bool
ScaleIOVolumeSource: 1 gateway str!, 2 system str!, 3 secretRef LocalObjectReference, 4 sslEnabled bool, 5 protectionDomain str, 6 storagePool str, 7 storageMode str, 8 volumeName str, 9 fsType str, 10 readOnly bool
StorageOSVolumeSource: 1 volumeName str, 2 volumeNamespace str, 3 fsType str, 4 readOnly bool, 5 secretRef LocalObjectReference
CSIVolumeSource: 1 driver str!, 2 readOnly bool?, 3 fsType str?, 4 volumeAttributes {str}, 5 nodePublishSecretRef LocalObjectReference
EphemeralVolumeSource: 1 volumeClaimTemplate PersistentVolumeClaimTemplate
PersistentVolumeClaimTemplate: 1 metadata ObjectMeta!, 2 spec PersistentVolumeClaimSpec!
PersistentVolumeClaimSpec: 1 accessModes [str], 2 resources VolumeResourceRequirements!, 3 volumeName str, 4 selector LabelSelector, 5 storageClassName str?, 6 volumeMode str?, 7 dataSource TypedLocalObjectReference, 8 dataSourceRef TypedObjectReference, 9 volumeAttributesClassName str?
VolumeResourceRequirements: 1 limits {Quantity}, 2 requests {Quantity}
TypedLocalObjectReference: 1 apiGroup str?, 2 kind str!, 3 name str!
TypedObjectReference: 1 apiGroup str?, 2 kind str!, 3 name str!, 4 namespace str?
ImageVolumeSource: 1 reference str, 2 pullPolicy str
Container: 1 name str!, 2 image str, 3 command [str], 4 args [str], 5 workingDir str, 6 ports [ContainerPort], 7 env [EnvVar], 8 resources ResourceRequirements!, 9 volumeMounts [VolumeMount], 10 livenessProbe Probe, 11 readinessProbe Probe, 12 lifecycle Lifecycle, 13 terminationMessagePath str, 14 imagePullPolicy str, 15 securityContext SecurityContext, 16 stdin bool, 17 stdinOnce bool, 18 tty bool, 19 envFrom [EnvFromSource], 20 terminationMessagePolicy str, 21 volumeDevices [VolumeDevice], 22 startupProbe Probe, 23 resizePolicy [ContainerResizePolicy], 24 restartPolicy str?, 25 restartPolicyRules [ContainerRestartRule]
ContainerPort: 1 name str, 2 hostPort int, 3 containerPort int!, 4 protocol str, 5 hostIP str
EnvFromSource: 1 prefix str, 2 configMapRef ConfigMapEnvSource, 3 secretRef SecretEnvSource
ConfigMapEnvSource: 1 localObjectReference *LocalObjectReference, 2 optional bool?
SecretEnvSource: 1 localObjectReference *LocalObjectReference, 2 optional bool?
EnvVar: 1 name str!, 2 value str, 3 valueFrom EnvVarSource
EnvVarSource: 1 fieldRef ObjectFieldSelector, 2 resourceFieldRef ResourceFieldSelector, 3 configMapKeyRef ConfigMapKeySelector, 4 secretKeyRef SecretKeySelector, 5 fileKeyRef FileKeySelector
ConfigMapKeySelector: 1 localObjectReference *LocalObjectReference, 2 key str!, 3 optional bool?
SecretKeySelector: 1 localObjectReference *LocalObjectReference, 2 key str!, 3 optional bool?
FileKeySelector: 1 volumeName str!, 2 path str!, 3 key str!, 4 optional bool?
ResourceRequirements: 1 limits {Quantity}, 2 requests {Quantity}, 3 claims [ResourceClaim]
ResourceClaim: 1 name str!, 2 request str
ContainerResizePolicy: 1 resourceName str!, 2 restartPolicy str!
ContainerRestartRule: 1 action str, 2 exitCodes ContainerRestartRuleOnExitCodes
ContainerRestartRuleOnExitCodes: 1 operator str, 2 values [int]
VolumeMount: 1 name str!, 2 readOnly bool, 3 mountPath str!, 4 subPath str, 5 mountPropagation str?, 6 subPathExpr str, 7 recursiveReadOnly str?
VolumeDevice: 1 name str!, 2 devicePath str!
Probe: 1 handler *ProbeHandler, 2 initialDelaySeconds int, 3 timeoutSeconds int, 4 periodSeconds int, 5 successThreshold int, 6 failureThreshold int, 7 terminationGracePeriodSeconds int?
ProbeHandler: 1 exec ExecAction, 2 httpGet HTTPGetAction, 3 tcpSocket TCPSocketAction, 4 grpc GRPCAction
ExecAction: 1 command [str]
HTTPGetAction: 1 path str, 2 port IntOrString!, 3 host str, 4 scheme str, 5 httpHeaders [HTTPHeader]
HTTPHeader: 1 name str!, 2 value str!
TCPSocketAction: 1 port IntOrString!, 2 host str
GRPCAction: 1 port int!, 2 service str?
Lifecycle: 1 postStart LifecycleHandler, 2 preStop LifecycleHandler, 3 stopSignal str?
LifecycleHandler: 1 exec ExecAction, 2 httpGet HTTPGetAction, 3 tcpSocket TCPSocketAction, 4 sleep SleepAction
SleepAction: 1 seconds int!
SecurityContext: 1 capabilities Capabilities, 2 privileged bool?, 3 seLinuxOptions SELinuxOptions, 4 runAsUser int?, 5 runAsNonRoot bool?, 6 readOnlyRootFilesystem bool?, 7 allowPrivilegeEscalation bool?, 8 runAsGroup int?, 9 procMount str?, 10 windowsOptions WindowsSecurityContextOptions, 11 seccompProfile SeccompProfile, 12 appArmorProfile AppArmorProfile
Capabilities: 1 add [str], 2 drop [str]
SELinuxOptions: 1 user str, 2 role str, 3 type str, 4 level str
WindowsSecurityContextOptions: 1 gmsaCredentialSpecName str?, 2 gmsaCredentialSpec str?, 3 runAsUserName str?, 4 hostProcess bool?
SeccompProfile: 1 type str!, 2 localhostProfile str?
AppArmorProfile: 1 type str!, 2 localhostProfile str?
EphemeralContainer: 1 ephemeralContainerCommon *EphemeralContainerCommon, 2 targetContainerName str
EphemeralContainerCommon: 1 name str!, 2 image str, 3 command [str], 4 args [str], 5 workingDir str, 6 ports [ContainerPort], 7 env [EnvVar], 8 resources ResourceRequirements!, 9 volumeMounts [VolumeMount], 10 livenessProbe Probe, 11 readinessProbe Probe, 12 lifecycle Lifecycle, 13 terminationMessagePath str, 14 imagePullPolicy str, 15 securityContext SecurityContext, 16 stdin bool, 17 stdinOnce bool, 18 tty bool, 19 envFrom [EnvFromSource], 20 terminationMessagePolicy str, 21 volumeDevices [VolumeDevice], 22 startupProbe Probe, 23 resizePolicy [ContainerResizePolicy], 24 restartPolicy str?, 25 restartPolicyRules [ContainerRestartRule]
PodSecurityContext: 1 seLinuxOptions SELinuxOptions, 2 runAsUser int?, 3 runAsNonRoot bool?, 4 supplementalGroups [int], 5 fsGroup int?, 6 runAsGroup int?, 7 sysctls [Sysctl], 8 windowsOptions WindowsSecurityContextOptions, 9 fsGroupChangePolicy str?, 10 seccompProfile SeccompProfile, 11 appArmorProfile AppArmorProfile, 12 supplementalGroupsPolicy str?, 13 seLinuxChangePolicy str?
Sysctl: 1 name str!, 2 value str!
Affinity: 1 nodeAffinity NodeAffinity, 2 podAffinity PodAffinity, 3 podAntiAffinity PodAntiAffinity
NodeAffinity: 1 requiredDuringSchedulingIgnoredDuringExecution NodeSelector, 2 preferredDuringSchedulingIgnoredDuringExecution [PreferredSchedulingTerm]
NodeSelector: 1 nodeSelectorTerms [NodeSelectorTerm]
NodeSelectorTerm: 1 matchExpressions [NodeSelectorRequirement], 2 matchFields [NodeSelectorRequirement]
NodeSelectorRequirement: 1 key str!, 2 operator str!, 3 values [str]
PreferredSchedulingTerm: 1 weight int!, 2 preference NodeSelectorTerm!
PodAffinity: 1 requiredDuringSchedulingIgnoredDuringExecution [PodAffinityTerm], 2 preferredDuringSchedulingIgnoredDuringExecution [WeightedPodAffinityTerm]
PodAffinityTerm: 1 labelSelector LabelSelector, 2 namespaces [str], 3 topologyKey str!, 4 namespaceSelector LabelSelector, 5 matchLabelKeys [str], 6 mismatchLabelKeys [str]
WeightedPodAffinityTerm: 1 weight int!, 2 podAffinityTerm PodAffinityTerm!
PodAntiAffinity: 1 requiredDuringSchedulingIgnoredDuringExecution [PodAffinityTerm], 2 preferredDuringSchedulingIgnoredDuringExecution [WeightedPodAffinityTerm]
Toleration: 1 key str, 2 operator str, 3 value str, 4 effect str, 5 tolerationSeconds int?
HostAlias: 1 ip str!, 2 hostnames [str]
PodDNSConfig: 1 nameservers [str], 2 searches [str], 3 options [PodDNSConfigOption]
PodDNSConfigOption: 1 name str, 2 value str?
PodReadinessGate: 1 conditionType str!
TopologySpreadConstraint: 1 maxSkew int!, 2 topologyKey str!, 3 whenUnsatisfiable str!, 4 labelSelector LabelSelector, 5 minDomains int?, 6 nodeAffinityPolicy str?, 7 nodeTaintsPolicy str?, 8 matchLabelKeys [str]
PodOS: 1 name str!
PodSchedulingGate: 1 name str!
PodResourceClaim: 1 name str!, 3 resourceClaimName str?, 4 resourceClaimTemplateName str?
PodStatus: 1 phase str, 2 conditions [PodCondition], 3 message str, 4 reason str, 5 hostIP str, 6 podIP str, 7 startTime Time, 8 containerStatuses [ContainerStatus], 9 qosClass str, 10 initContainerStatuses [ContainerStatus], 11 nominatedNodeName str, 12 podIPs [PodIP], 13 ephemeralContainerStatuses [ContainerStatus], 14 resize str, 15 resourceClaimStatuses [PodResourceClaimStatus], 16 hostIPs [HostIP], 17 observedGeneration int, 18 extendedResourceClaimStatus PodExtendedResourceClaimStatus
PodCondition: 1 type str!, 2 status str!, 3 lastProbeTime Time!, 4 lastTransitionTime Time!, 5 reason str, 6 message str, 7 observedGeneration int
HostIP: 1 ip str!
PodIP: 1 ip str!
ContainerStatus: 1 name str!, 2 state ContainerState!, 3 lastState ContainerState!, 4 ready bool!, 5 restartCount int!, 6 image str!, 7 imageID str!, 8 containerID str, 9 started bool?, 10 allocatedResources {Quantity}, 11 resources ResourceRequirements, 12 volumeMounts [VolumeMountStatus], 13 user ContainerUser, 14 allocatedResourcesStatus [ResourceStatus], 15 stopSignal str?
ContainerState: 1 waiting ContainerStateWaiting, 2 running ContainerStateRunning, 3 terminated ContainerStateTerminated
ContainerStateWaiting: 1 reason str, 2 message str
ContainerStateRunning: 1 startedAt Time!
ContainerStateTerminated: 1 exitCode int!, 2 signal int, 3 reason str, 4 message str, 5 startedAt Time!, 6 finishedAt Time!, 7 containerID str
VolumeMountStatus: 1 name str!, 2 mountPath str!, 3 readOnly bool, 4 recursiveReadOnly str?
ContainerUser: 1 linux LinuxContainerUser
LinuxContainerUser: 1 uid int!, 2 gid int!, 3 supplementalGroups [int]
ResourceStatus: 1 name str!, 2 resources [ResourceHealth]
ResourceHealth: 1 resourceID str!, 2 health str
PodResourceClaimStatus: 1 name str!, 2 resourceClaimName str?
PodExtendedResourceClaimStatus: 1 requestMappings [ContainerExtendedResourceRequest], 2 resourceClaimName str
ContainerExtendedResourceRequest: 1 containerName str, 2 resourceName str!, 3 requestName str!
Service: 1 metadata ObjectMeta!, 2 spec ServiceSpec!, 3 status ServiceStatus!
ServiceSpec: 1 ports [ServicePort], 2 selector {str}, 3 clusterIP str, 4 type str, 5 externalIPs [str], 7 sessionAffinity str, 8 loadBalancerIP str, 9 loadBalancerSourceRanges [str], 10 externalName str, 11 externalTrafficPolicy str, 12 healthCheckNodePort int, 13 publishNotReadyAddresses bool, 14 sessionAffinityConfig SessionAffinityConfig, 17 ipFamilyPolicy str?, 18 clusterIPs [str], 19 ipFamilies [str], 20 allocateLoadBalancerNodePorts bool?, 21 loadBalancerClass str?, 22 internalTrafficPolicy str?, 23 trafficDistribution str?
ServicePort: 1 name str, 2 protocol str, 3 port int!, 4 targetPort IntOrString!, 5 nodePort int, 6 appProtocol str?
SessionAffinityConfig: 1 clientIP ClientIPConfig
ClientIPConfig: 1 timeoutSeconds int?
ServiceStatus: 1 loadBalancer LoadBalancerStatus!, 2 conditions [Condition]
LoadBalancerStatus: 1 ingress [LoadBalancerIngress]
LoadBalancerIngress: 1 ip str, 2 hostname str, 3 ipMode str?, 4 ports [PortStatus]
PortStatus: 1 port int!, 2 protocol str!, 3 error str?
Condition: 1 type str!, 2 status str!, 3 observedGeneration int, 4 lastTransitionTime Time!, 5 reason str!, 6 message str!
PersistentVolumeClaim: 1 metadata ObjectMeta!, 2 spec PersistentVolumeClaimSpec!, 3 status PersistentVolumeClaimStatus!
PersistentVolumeClaimStatus: 1 phase str, 2 accessModes [str], 3 capacity {Quantity}, 4 conditions [PersistentVolumeClaimCondition], 5 allocatedResources {Quantity}, 7 allocatedResourceStatuses {str}, 8 currentVolumeAttributesClassName str?, 9 modifyVolumeStatus ModifyVolumeStatus
PersistentVolumeClaimCondition: 1 type str!, 2 status str!, 3 lastProbeTime Time!, 4 lastTransitionTime Time!, 5 reason str, 6 message str
ModifyVolumeStatus: 1 targetVolumeAttributesClassName str, 2 status str!
Deployment: 1 metadata ObjectMeta!, 2 spec DeploymentSpec!, 3 status DeploymentStatus!
DeploymentSpec: 1 replicas int?, 2 selector LabelSelector, 3 template PodTemplateSpec!, 4 strategy DeploymentStrategy!, 5 minReadySeconds int, 6 revisionHistoryLimit int?, 7 paused bool, 9 progressDeadlineSeconds int?
PodTemplateSpec: 1 metadata ObjectMeta!, 2 spec PodSpec!
DeploymentStrategy: 1 type str, 2 rollingUpdate RollingUpdateDeployment
RollingUpdateDeployment: 1 maxUnavailable IntOrString, 2 maxSurge IntOrString
DeploymentStatus: 1 observedGeneration int, 2 replicas int, 3 updatedReplicas int, 4 availableReplicas int, 5 unavailableReplicas int, 6 conditions [DeploymentCondition], 7 readyReplicas int, 8 collisionCount int?, 9 terminatingReplicas int?
DeploymentCondition: 1 type str!, 2 status str!, 4 reason str, 5 message str, 6 lastUpdateTime Time!, 7 lastTransitionTime Time!
StatefulSet: 1 metadata ObjectMeta!, 2 spec StatefulSetSpec!, 3 status StatefulSetStatus!
StatefulSetSpec: 1 replicas int?, 2 selector LabelSelector, 3 template PodTemplateSpec!, 4 volumeClaimTemplates [PersistentVolumeClaim], 5 serviceName str!, 6 podManagementPolicy str, 7 updateStrategy StatefulSetUpdateStrategy!, 8 revisionHistoryLimit int?, 9 minReadySeconds int, 10 persistentVolumeClaimRetentionPolicy StatefulSetPersistentVolumeClaimRetentionPolicy, 11 ordinals StatefulSetOrdinals
StatefulSetUpdateStrategy: 1 type str, 2 rollingUpdate RollingUpdateStatefulSetStrategy
RollingUpdateStatefulSetStrategy: 1 partition int?, 2 maxUnavailable IntOrString
StatefulSetPersistentVolumeClaimRetentionPolicy: 1 whenDeleted str, 2 whenScaled str
StatefulSetOrdinals: 1 start int!
StatefulSetStatus: 1 observedGeneration int, 2 replicas int!, 3 readyReplicas int, 4 currentReplicas int, 5 updatedReplicas int, 6 currentRevision str, 7 updateRevision str, 9 collisionCount int?, 10 conditions [StatefulSetCondition], 11 availableReplicas int!
StatefulSetCondition: 1 type str!, 2 status str!, 3 lastTransitionTime Time!, 4 reason str, 5 message str
DaemonSet: 1 metadata ObjectMeta!, 2 spec DaemonSetSpec!, 3 status DaemonSetStatus!
DaemonSetSpec: 1 selector LabelSelector, 2 template PodTemplateSpec!, 3 updateStrategy DaemonSetUpdateStrategy!, 4 minReadySeconds int, 6 revisionHistoryLimit int?
DaemonSetUpdateStrategy: 1 type str, 2 rollingUpdate RollingUpdateDaemonSet
RollingUpdateDaemonSet: 1 maxUnavailable IntOrString, 2 maxSurge IntOrString
DaemonSetStatus: 1 currentNumberScheduled int!, 2 numberMisscheduled int!, 3 desiredNumberScheduled int!, 4 numberReady int!, 5 observedGeneration int, 6 updatedNumberScheduled int, 7 numberAvailable int, 8 numberUnavailable int, 9 collisionCount int?, 10 conditions [DaemonSetCondition]
DaemonSetCondition: 1 type str!, 2 status str!, 3 lastTransitionTime Time!, 4 reason str, 5 message str
ReplicaSet: 1 metadata ObjectMeta!, 2 spec ReplicaSetSpec!, 3 status ReplicaSetStatus!
ReplicaSetSpec: 1 replicas int?, 2 selector LabelSelector, 3 template PodTemplateSpec!, 4 minReadySeconds int
ReplicaSetStatus: 1 replicas int!, 2 fullyLabeledReplicas int, 3 observedGeneration int, 4 readyReplicas int, 5 availableReplicas int, 6 conditions [ReplicaSetCondition], 7 terminatingReplicas int?
ReplicaSetCondition: 1 type str!, 2 status str!, 3 lastTransitionTime Time!, 4 reason str, 5 message str
Job: 1 metadata ObjectMeta!, 2 spec JobSpec!, 3 status JobStatus!
JobSpec: 1 parallelism int?, 2 completions int?, 3 activeDeadlineSeconds int?, 4 selector LabelSelector, 5 manualSelector bool?, 6 template PodTemplateSpec!, 7 backoffLimit int?, 8 ttlSecondsAfterFinished int?, 9 completionMode str?, 10 suspend bool?, 11 podFailurePolicy PodFailurePolicy, 12 backoffLimitPerIndex int?, 13 maxFailedIndexes int?, 14 podReplacementPolicy str?, 15 managedBy str?, 16 successPolicy SuccessPolicy
PodFailurePolicy: 1 rules [PodFailurePolicyRule]
PodFailurePolicyRule: 1 action str!, 2 onExitCodes PodFailurePolicyOnExitCodesRequirement, 3 onPodConditions [PodFailurePolicyOnPodConditionsPattern]
PodFailurePolicyOnExitCodesRequirement: 1 containerName str?, 2 operator str!, 3 values [int]
PodFailurePolicyOnPodConditionsPattern: 1 type str!, 2 status str!
SuccessPolicy: 1 rules [SuccessPolicyRule]
SuccessPolicyRule: 1 succeededIndexes str?, 2 succeededCount int?
JobStatus: 1 conditions [JobCondition], 2 startTime Time, 3 completionTime Time, 4 active int, 5 succeeded int, 6 failed int, 7 completedIndexes str, 8 uncountedTerminatedPods UncountedTerminatedPods, 9 ready int?, 10 failedIndexes str?, 11 terminating int?
JobCondition: 1 type str!, 2 status str!, 3 lastProbeTime Time!, 4 lastTransitionTime Time!, 5 reason str, 6 message str
UncountedTerminatedPods: 1 succeeded [str], 2 failed [str]
CronJob: 1 metadata ObjectMeta!, 2 spec CronJobSpec!, 3 status CronJobStatus!
CronJobSpec: 1 schedule str!, 2 startingDeadlineSeconds int?, 3 concurrencyPolicy str, 4 suspend bool?, 5 jobTemplate JobTemplateSpec!, 6 successfulJobsHistoryLimit int?, 7 failedJobsHistoryLimit int?, 8 timeZone str?
JobTemplateSpec: 1 metadata ObjectMeta!, 2 spec JobSpec!
CronJobStatus: 1 active [ObjectReference], 4 lastScheduleTime Time, 5 lastSuccessfulTime Time
Scale: 1 metadata ObjectMeta!, 2 spec ScaleSpec!, 3 status ScaleStatus!
ScaleSpec: 1 replicas int
ScaleStatus: 1 replicas int!, 2 selector str
Ingress: 1 metadata ObjectMeta!, 2 spec IngressSpec!, 3 status IngressStatus!
IngressSpec: 1 defaultBackend IngressBackend, 2 tls [IngressTLS], 3 rules [IngressRule], 4 ingressClassName str?
IngressBackend: 3 resource TypedLocalObjectReference, 4 service IngressServiceBackend
IngressServiceBackend: 1 name str!, 2 port ServiceBackendPort!
ServiceBackendPort: 1 name str, 2 number int
IngressTLS: 1 hosts [str], 2 secretName str
IngressRule: 1 host str, 2 ingressRuleValue *IngressRuleValue
IngressRuleValue: 1 http HTTPIngressRuleValue
HTTPIngressRuleValue: 1 paths [HTTPIngressPath]
HTTPIngressPath: 1 path str, 2 backend IngressBackend!, 3 pathType str?
IngressStatus: 1 loadBalancer IngressLoadBalancerStatus!
IngressLoadBalancerStatus: 1 ingress [IngressLoadBalancerIngress]
IngressLoadBalancerIngress: 1 ip str, 2 hostname str, 4 ports [IngressPortStatus]
IngressPortStatus: 1 port int!, 2 protocol str!, 3 error str?
DeleteOptions: 1 gracePeriodSeconds int?, 2 preconditions Preconditions, 3 orphanDependents bool?, 4 propagationPolicy str?, 5 dryRun [str], 6 ignoreStoreReadErrorWithClusterBreakingPotential bool?
Preconditions: 1 uid str?, 2 resourceVersion str?
Status: 1 metadata ListMeta!, 2 status str, 3 message str, 4 reason str, 5 details StatusDetails, 6 code int
ListMeta: 1 selfLink str, 2 resourceVersion str, 3 continue str, 4 remainingItemCount int?
StatusDetails: 1 name str, 2 group str, 3 kind str, 4 causes [StatusCause], 5 retryAfterSeconds int, 6 uid str
StatusCause: 1 reason str, 2 message str, 3 field str
"""

_SCALARS = frozenset({"str", "bytes", "int", "bool"})
_SPECIALS = frozenset({"Time", "MicroTime", "Quantity", "IntOrString", "FieldsV1"})


@dataclass(frozen=True, slots=True)
class _Field:
    """One field of a message schema (see the notation above ``_SCHEMA_TEXT``)."""

    number: int
    name: str
    base: str  # a scalar, a special or a message name
    repeated: bool = False
    is_map: bool = False
    inline: bool = False
    pointer: bool = False  # Go pointer: presence is meaningful
    required: bool = False  # non-pointer without omitempty (scalars) / non-pointer struct

    @property
    def is_scalar(self) -> bool:
        return self.base in _SCALARS


def _parse_field(spec: str) -> _Field:
    number, name, typ = spec.split()
    kw: dict[str, bool] = {}
    if typ.startswith("[") and typ.endswith("]"):
        typ, kw["repeated"] = typ[1:-1], True
    elif typ.startswith("{") and typ.endswith("}"):
        typ, kw["is_map"] = typ[1:-1], True
    elif typ.startswith("*"):
        typ, kw["inline"], kw["required"] = typ[1:], True, True
    if typ.endswith("?"):
        typ, kw["pointer"] = typ[:-1], True
    elif typ.endswith("!"):
        typ, kw["required"] = typ[:-1], True
    return _Field(int(number), name, typ, **kw)


def _parse_schemas(text: str) -> dict[str, tuple[_Field, ...]]:
    schemas: dict[str, tuple[_Field, ...]] = {}
    for line in text.strip().splitlines():
        name, _, body = line.partition(":")
        fields = tuple(_parse_field(part) for part in body.split(","))
        schemas[name.strip()] = tuple(sorted(fields, key=lambda f: f.number))
    for name, fields in schemas.items():
        for f in fields:
            if f.base not in _SCALARS and f.base not in _SPECIALS and f.base not in schemas:
                raise AssertionError(f"{name}.{f.name}: unknown type {f.base}")
    return schemas


_SCHEMAS = _parse_schemas(_SCHEMA_TEXT)
_BY_NUMBER = {name: {f.number: f for f in fields} for name, fields in _SCHEMAS.items()}

# apiVersion -> kind -> message.  DeleteOptions and Status are accepted with any apiVersion
# (client-go sends DeleteOptions as meta.k8s.io/v1, older clients as the resource's version).
_KINDS: dict[str, dict[str, str]] = {
    "v1": {
        k: k
        for k in (
            "Secret",
            "ConfigMap",
            "Namespace",
            "ServiceAccount",
            "Event",
            "Pod",
            "Service",
            "PersistentVolumeClaim",
        )
    },
    "apps/v1": {k: k for k in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")},
    "batch/v1": {"Job": "Job", "CronJob": "CronJob"},
    "autoscaling/v1": {"Scale": "Scale"},
    "networking.k8s.io/v1": {"Ingress": "Ingress"},
}
_ANY_VERSION_KINDS = {"DeleteOptions": "DeleteOptions", "Status": "Status"}

SUPPORTED_KINDS: frozenset[tuple[str, str]] = frozenset(
    [(v, k) for v, kinds in _KINDS.items() for k in kinds]
    + [("meta.k8s.io/v1", k) for k in _ANY_VERSION_KINDS]
    + [("v1", k) for k in _ANY_VERSION_KINDS]
)
"""(apiVersion, kind) pairs with a schema; DeleteOptions and Status take any apiVersion."""


def _message_for(api_version: str, kind: str) -> str:
    msg = _KINDS.get(api_version, {}).get(kind) or _ANY_VERSION_KINDS.get(kind)
    if msg is None:
        raise UnsupportedKind(api_version, kind)
    return msg


# ---------------------------------------------------------------------------------------
# Wire format.
# ---------------------------------------------------------------------------------------
_VARINT, _FIXED64, _LEN, _FIXED32 = 0, 1, 2, 5
_U64 = 1 << 64


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ProtobufError("varint longer than 10 bytes")


def _iter_fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yield ``(field number, wire type, value)``: ints for varints, bytes otherwise."""
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtobufError("field number 0")
        value: int | bytes
        if wire == _VARINT:
            value, pos = _read_varint(buf, pos)
        elif wire == _LEN:
            size, pos = _read_varint(buf, pos)
            if pos + size > len(buf):
                raise ProtobufError(f"field {number}: length {size} runs past the end")
            value, pos = buf[pos : pos + size], pos + size
        elif wire in (_FIXED64, _FIXED32):
            width = 8 if wire == _FIXED64 else 4
            if pos + width > len(buf):
                raise ProtobufError(f"field {number}: truncated fixed{width * 8}")
            value, pos = buf[pos : pos + width], pos + width
        else:
            raise ProtobufError(f"field {number}: unsupported wire type {wire}")
        yield number, wire, value


def _signed(value: int) -> int:
    """Varints carry int32/int64 as 64-bit two's complement."""
    value &= _U64 - 1
    return value - _U64 if value >= 1 << 63 else value


def _varint(value: int) -> bytes:
    value &= _U64 - 1  # negative ints are sign-extended to ten bytes
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _len_field(number: int, payload: bytes) -> bytes:
    return _key(number, _LEN) + _varint(len(payload)) + payload


# ---------------------------------------------------------------------------------------
# Well-known types.
# ---------------------------------------------------------------------------------------
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _decode_timestamp(buf: bytes) -> tuple[int, int]:
    seconds = nanos = 0
    for number, wire, value in _iter_fields(buf):
        if wire != _VARINT:
            continue
        if number == 1:
            seconds = _signed(value)  # type: ignore[arg-type]
        elif number == 2:
            nanos = _signed(value)  # type: ignore[arg-type]
    return seconds, nanos


def _format_time(buf: bytes, micro: bool) -> str | None:
    seconds, nanos = _decode_timestamp(buf)
    if seconds == 0 and nanos == 0 and not buf:
        return None  # zero time: JSON null, left out
    try:
        moment = _EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)
    except OverflowError as exc:
        raise ProtobufError(f"timestamp out of range: {seconds}") from exc
    if micro:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


_TIME_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$")


def _encode_time(value: Any, where: str) -> bytes:
    """Time and MicroTime as gogo writes them: nothing for a zero time, else seconds+nanos."""
    if value is None:
        return b""
    match = _TIME_RE.match(value) if isinstance(value, str) else None
    if match is None:
        raise ProtobufError(f"{where}: not an RFC 3339 time: {value!r}")
    base, fraction, zone = match.groups()
    moment = datetime.fromisoformat(base + ("+00:00" if zone == "Z" else zone))
    delta = moment - _EPOCH
    seconds = delta.days * 86400 + delta.seconds
    nanos = int((fraction or "0").ljust(9, "0"))
    return _key(1, _VARINT) + _varint(seconds) + _key(2, _VARINT) + _varint(nanos)


def _decode_quantity(buf: bytes) -> str:
    text = "0"
    for number, wire, value in _iter_fields(buf):
        if number == 1 and wire == _LEN:
            text = _utf8(value, "Quantity")  # type: ignore[arg-type]
    return text


def _decode_int_or_string(buf: bytes) -> int | str:
    kind, int_val, str_val = 0, 0, ""
    for number, wire, value in _iter_fields(buf):
        if number == 1 and wire == _VARINT:
            kind = _signed(value)  # type: ignore[arg-type]
        elif number == 2 and wire == _VARINT:
            int_val = _signed(value)  # type: ignore[arg-type]
        elif number == 3 and wire == _LEN:
            str_val = _utf8(value, "IntOrString")  # type: ignore[arg-type]
    return str_val if kind == 1 else int_val


def _encode_int_or_string(value: Any, where: str) -> bytes:
    if value is None:
        value = 0
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ProtobufError(f"{where}: IntOrString must be an int or a string, not {value!r}")
    if isinstance(value, str):
        kind, int_val, str_val = 1, 0, value
    else:
        kind, int_val, str_val = 0, value, ""
    raw = str_val.encode()
    return (
        _key(1, _VARINT) + _varint(kind) + _key(2, _VARINT) + _varint(int_val) + _len_field(3, raw)
    )


def _decode_fields_v1(buf: bytes) -> Any:
    raw = b""
    for number, wire, value in _iter_fields(buf):
        if number == 1 and wire == _LEN:
            raw = value  # type: ignore[assignment]
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ProtobufError(f"FieldsV1 does not hold JSON: {exc}") from exc


def _utf8(value: bytes, where: str) -> str:
    try:
        return value.decode()
    except UnicodeDecodeError as exc:
        raise ProtobufError(f"{where}: invalid UTF-8 string") from exc


# ---------------------------------------------------------------------------------------
# Decoding.
# ---------------------------------------------------------------------------------------
def _zero(base: str) -> Any:
    return {"str": "", "bytes": "", "int": 0, "bool": False}[base]


def _decode_scalar(f: _Field, wire: int, value: int | bytes, where: str) -> Any:
    if f.base in ("str", "bytes"):
        if wire != _LEN:
            raise ProtobufError(f"{where}: wire type {wire} for a {f.base} field")
        assert isinstance(value, bytes)
        if f.base == "str":
            return _utf8(value, where)
        return base64.b64encode(value).decode("ascii")
    if wire != _VARINT:
        raise ProtobufError(f"{where}: wire type {wire} for a {f.base} field")
    assert isinstance(value, int)
    return value != 0 if f.base == "bool" else _signed(value)


def _decode_value(base: str, buf: bytes, where: str) -> Any:
    """Decode a length-delimited message value of type ``base`` into its JSON form."""
    if base == "Time":
        return _format_time(buf, micro=False)
    if base == "MicroTime":
        return _format_time(buf, micro=True)
    if base == "Quantity":
        return _decode_quantity(buf)
    if base == "IntOrString":
        return _decode_int_or_string(buf)
    if base == "FieldsV1":
        return _decode_fields_v1(buf)
    return decode_message(base, buf, where)


def _decode_map_entry(f: _Field, buf: bytes, where: str) -> tuple[str, Any]:
    key = ""
    value: Any = None
    for number, wire, raw in _iter_fields(buf):
        if number == 1:
            if wire != _LEN:
                raise ProtobufError(f"{where}: map key of wire type {wire}")
            key = _utf8(raw, where)  # type: ignore[arg-type]
        elif number == 2:
            if f.is_scalar:
                value = _decode_scalar(f, wire, raw, f"{where}[{key!r}]")
            elif wire != _LEN:
                raise ProtobufError(f"{where}: map value of wire type {wire}")
            else:
                value = _decode_value(f.base, raw, f"{where}[{key!r}]")  # type: ignore[arg-type]
    if value is None:
        value = _zero(f.base) if f.is_scalar else _decode_value(f.base, b"", where)
    return key, value


def decode_message(message: str, buf: bytes, where: str = "") -> dict[str, Any]:
    """Decode the protobuf ``buf`` of schema ``message`` (e.g. ``"PodSpec"``) into a JSON dict."""
    schema = _SCHEMAS[message]
    by_number = _BY_NUMBER[message]
    where = where or message
    singles: dict[int, Any] = {}
    chunks: dict[int, list[bytes]] = {}  # message fields: occurrences merge, as in proto
    lists: dict[int, list[Any]] = {}
    maps: dict[int, dict[str, Any]] = {}
    for number, wire, value in _iter_fields(buf):
        f = by_number.get(number)
        if f is None:
            continue  # unknown field (newer API version): skip it
        at = f"{where}.{f.name}"
        if f.is_map:
            if wire != _LEN:
                raise ProtobufError(f"{at}: wire type {wire} for a map entry")
            k, v = _decode_map_entry(f, value, at)  # type: ignore[arg-type]
            maps.setdefault(number, {})[k] = v
        elif f.repeated and f.is_scalar:
            items = lists.setdefault(number, [])
            if wire == _LEN and f.base in ("int", "bool"):  # packed
                assert isinstance(value, bytes)
                pos = 0
                while pos < len(value):
                    item, pos = _read_varint(value, pos)
                    items.append(_decode_scalar(f, _VARINT, item, at))
            else:
                items.append(_decode_scalar(f, wire, value, at))
        elif f.is_scalar:
            singles[number] = _decode_scalar(f, wire, value, at)
        elif wire != _LEN:
            raise ProtobufError(f"{at}: wire type {wire} for a message field")
        elif f.repeated:
            item = _decode_value(f.base, value, f"{at}[{len(lists.get(number, []))}]")  # type: ignore[arg-type]
            lists.setdefault(number, []).append(item)
        else:
            chunks.setdefault(number, []).append(value)  # type: ignore[arg-type]

    out: dict[str, Any] = {}
    for f in schema:
        n = f.number
        if f.is_map:
            if maps.get(n):
                out[f.name] = maps[n]
        elif f.repeated:
            if lists.get(n):
                out[f.name] = lists[n]
        elif f.is_scalar:
            if n in singles:
                value = singles[n]
                if f.pointer or f.required or value != _zero(f.base):
                    out[f.name] = value
            elif f.required:
                out[f.name] = _zero(f.base)
        elif f.inline:
            out.update(decode_message(f.base, b"".join(chunks.get(n, [])), where))
        elif n in chunks or f.required:
            value = _decode_value(f.base, b"".join(chunks.get(n, [])), f"{where}.{f.name}")
            if value is not None:  # a zero Time is JSON null: left out
                out[f.name] = value
    return out


def is_protobuf(content_type: str | None) -> bool:
    """Whether a Content-Type header names the Kubernetes protobuf encoding."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == PROTOBUF_CONTENT_TYPE


def decode_body(content_type: str, body: bytes) -> dict[str, Any]:
    """Decode a protobuf request body (envelope included) into the object's JSON dict.

    Raises ``ProtobufError`` when the content type is not protobuf or the bytes are
    malformed, and ``UnsupportedKind`` when the envelope's kind has no schema here.
    """
    if not is_protobuf(content_type):
        raise ProtobufError(f"not a protobuf content type: {content_type!r}")
    if not body.startswith(MAGIC):
        raise ProtobufError("missing the k8s\\x00 protobuf magic prefix")
    api_version = kind = content_encoding = ""
    raw = b""
    for number, wire, value in _iter_fields(body[len(MAGIC) :]):
        if wire != _LEN:
            continue
        assert isinstance(value, bytes)
        if number == 1:  # typeMeta
            for tnum, twire, tval in _iter_fields(value):
                if twire == _LEN and tnum == 1:
                    api_version = _utf8(tval, "typeMeta.apiVersion")  # type: ignore[arg-type]
                elif twire == _LEN and tnum == 2:
                    kind = _utf8(tval, "typeMeta.kind")  # type: ignore[arg-type]
        elif number == 2:
            raw = value
        elif number == 3:
            content_encoding = _utf8(value, "contentEncoding")
    if not kind:
        raise ProtobufError("envelope has no kind")
    if content_encoding:
        raise ProtobufError(f"unsupported envelope contentEncoding {content_encoding!r}")
    message = _message_for(api_version, kind)
    obj: dict[str, Any] = {"kind": kind, "apiVersion": api_version}
    obj.update(decode_message(message, raw, kind))
    return obj


# ---------------------------------------------------------------------------------------
# Encoding.
# ---------------------------------------------------------------------------------------
def _encode_scalar(f: _Field, value: Any, where: str) -> bytes:
    """The payload after the key: varint for ints and bools, length+bytes otherwise."""
    if f.base == "str":
        if not isinstance(value, str):
            raise ProtobufError(f"{where}: expected a string, got {value!r}")
        raw = value.encode()
        return _varint(len(raw)) + raw
    if f.base == "bytes":
        if not isinstance(value, str):
            raise ProtobufError(f"{where}: expected a base64 string, got {value!r}")
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError as exc:
            raise ProtobufError(f"{where}: invalid base64") from exc
        return _varint(len(raw)) + raw
    if f.base == "bool":
        if not isinstance(value, bool):
            raise ProtobufError(f"{where}: expected a boolean, got {value!r}")
        return _varint(int(value))
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtobufError(f"{where}: expected an integer, got {value!r}")
    return _varint(value)


def _scalar_field(f: _Field, value: Any, where: str) -> bytes:
    wire = _LEN if f.base in ("str", "bytes") else _VARINT
    return _key(f.number, wire) + _encode_scalar(f, value, where)


def _encode_value(base: str, value: Any, where: str, strict: bool) -> bytes:
    if base in ("Time", "MicroTime"):
        return _encode_time(value, where)
    if base == "Quantity":
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise ProtobufError(f"{where}: Quantity must be a string, got {value!r}")
        return _len_field(1, value.encode())
    if base == "IntOrString":
        return _encode_int_or_string(value, where)
    if base == "FieldsV1":
        raw = json.dumps(value if value is not None else {}, separators=(",", ":"))
        return _len_field(1, raw.encode())
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ProtobufError(f"{where}: expected an object, got {value!r}")
    return encode_message(base, value, where, strict=strict)


def _inline_names(message: str) -> set[str]:
    names: set[str] = set()
    for f in _SCHEMAS[message]:
        names |= _inline_names(f.base) if f.inline else {f.name}
    return names


def encode_message(
    message: str, obj: dict[str, Any], where: str = "", *, strict: bool = True
) -> bytes:
    """Encode the JSON dict ``obj`` as the protobuf message ``message``, gogo style.

    With ``strict`` (the default) a key the schema does not know raises ``ProtobufError``
    instead of being dropped silently.
    """
    where = where or message
    schema = _SCHEMAS[message]
    if strict:
        known = _inline_names(message)
        unknown = sorted(set(obj) - known)
        if unknown:
            raise ProtobufError(f"{where}: no protobuf field for {', '.join(unknown)}")
    out = bytearray()
    for f in schema:
        at = f"{where}.{f.name}"
        if f.inline:
            out += _len_field(f.number, encode_message(f.base, obj, where, strict=False))
            continue
        value = obj.get(f.name)
        if f.is_map:
            if not value:
                continue
            if not isinstance(value, dict):
                raise ProtobufError(f"{at}: expected an object, got {value!r}")
            for k in sorted(value):
                v = value[k]
                entry = _len_field(1, str(k).encode())
                if f.is_scalar:
                    entry += _scalar_field(
                        _Field(2, f.name, f.base), _zero(f.base) if v is None else v, f"{at}[{k!r}]"
                    )
                else:
                    entry += _len_field(2, _encode_value(f.base, v, f"{at}[{k!r}]", strict))
                out += _len_field(f.number, entry)
        elif f.repeated:
            if value is None:
                continue
            if not isinstance(value, list):
                raise ProtobufError(f"{at}: expected a list, got {value!r}")
            for i, item in enumerate(value):
                if f.is_scalar:
                    out += _scalar_field(f, item, f"{at}[{i}]")
                else:
                    out += _len_field(f.number, _encode_value(f.base, item, f"{at}[{i}]", strict))
        elif f.is_scalar:
            if f.pointer:
                if value is not None:
                    out += _scalar_field(f, value, at)
            else:  # gogo writes non-pointer scalars even when zero
                out += _scalar_field(f, _zero(f.base) if value is None else value, at)
        elif value is not None or f.required:
            out += _len_field(f.number, _encode_value(f.base, value, at, strict))
    return bytes(out)


def encode_object(obj: dict[str, Any], *, strict: bool = True) -> bytes:
    """Encode a JSON-form object into a protobuf body: magic, then the ``runtime.Unknown``.

    ``apiVersion`` and ``kind`` go into the envelope's typeMeta.  Raises
    ``UnsupportedKind`` for kinds without a schema and ``ProtobufError`` for values that
    do not fit the schema (and, with ``strict``, for keys it does not know).
    """
    api_version = obj.get("apiVersion") or ""
    kind = obj.get("kind") or ""
    if not isinstance(api_version, str) or not isinstance(kind, str) or not kind:
        raise ProtobufError("object needs string apiVersion and kind")
    message = _message_for(api_version, kind)
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    raw = encode_message(message, body, kind, strict=strict)
    type_meta = _len_field(1, api_version.encode()) + _len_field(2, kind.encode())
    envelope = (
        _len_field(1, type_meta) + _len_field(2, raw) + _len_field(3, b"") + _len_field(4, b"")
    )
    return MAGIC + envelope
