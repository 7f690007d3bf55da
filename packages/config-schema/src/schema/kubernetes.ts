import type { z } from 'zod';
import { pullPolicy } from './docker.js';
import { fields, table, tables } from './types.js';

/**
 * `[runners.kubernetes]` (§5.12): runnerkit does not run Kubernetes jobs, but every key is type-checked as GitLab
 * Runner does and the section is kept and written back. Transcribed from spec/fixtures/config/keys.json.
 */
export const kubernetesSchema = table(
  {
    ...fields({
      host: 'string',
      context: 'string',
      cert_file: 'string',
      key_file: 'string',
      ca_file: 'string',
      bearer_token_overwrite_allowed: 'bool',
      bearer_token: 'string',
      image: 'string',
      namespace: 'string',
      namespace_overwrite_allowed: 'string',
      namespace_per_job: 'bool',
      privileged: 'bool',
      runtime_class_name: 'string',
      allow_privilege_escalation: 'bool',
      cpu_limit: 'string',
      cpu_limit_overwrite_max_allowed: 'string',
      cpu_request: 'string',
      cpu_request_overwrite_max_allowed: 'string',
      memory_limit: 'string',
      memory_limit_overwrite_max_allowed: 'string',
      memory_request: 'string',
      memory_request_overwrite_max_allowed: 'string',
      ephemeral_storage_limit: 'string',
      ephemeral_storage_limit_overwrite_max_allowed: 'string',
      ephemeral_storage_request: 'string',
      ephemeral_storage_request_overwrite_max_allowed: 'string',
      service_cpu_limit: 'string',
      service_cpu_limit_overwrite_max_allowed: 'string',
      service_cpu_request: 'string',
      service_cpu_request_overwrite_max_allowed: 'string',
      service_memory_limit: 'string',
      service_memory_limit_overwrite_max_allowed: 'string',
      service_memory_request: 'string',
      service_memory_request_overwrite_max_allowed: 'string',
      service_ephemeral_storage_limit: 'string',
      service_ephemeral_storage_limit_overwrite_max_allowed: 'string',
      service_ephemeral_storage_request: 'string',
      service_ephemeral_storage_request_overwrite_max_allowed: 'string',
      helper_cpu_limit: 'string',
      helper_cpu_limit_overwrite_max_allowed: 'string',
      helper_cpu_request: 'string',
      helper_cpu_request_overwrite_max_allowed: 'string',
      helper_memory_limit: 'string',
      helper_memory_limit_overwrite_max_allowed: 'string',
      helper_memory_request: 'string',
      helper_memory_request_overwrite_max_allowed: 'string',
      helper_ephemeral_storage_limit: 'string',
      helper_ephemeral_storage_limit_overwrite_max_allowed: 'string',
      helper_ephemeral_storage_request: 'string',
      helper_ephemeral_storage_request_overwrite_max_allowed: 'string',
      pod_cpu_limit: 'string',
      pod_cpu_limit_overwrite_max_allowed: 'string',
      pod_cpu_request: 'string',
      pod_cpu_request_overwrite_max_allowed: 'string',
      pod_memory_limit: 'string',
      pod_memory_limit_overwrite_max_allowed: 'string',
      pod_memory_request: 'string',
      pod_memory_request_overwrite_max_allowed: 'string',
      allowed_images: 'string[]',
      allowed_pull_policies: 'string[]',
      allowed_services: 'string[]',
      allowed_users: 'string[]',
      allowed_groups: 'string[]',
      node_selector: 'map<string,string>',
      node_selector_overwrite_allowed: 'string',
      node_tolerations: 'map<string,string>',
      node_tolerations_overwrite_allowed: 'string',
      image_pull_secrets: 'string[]',
      use_service_account_image_pull_secrets: 'bool',
      helper_image: 'string',
      helper_image_flavor: 'string',
      helper_image_autoset_arch_and_os: 'bool',
      pod_termination_grace_period_seconds: 'int',
      cleanup_grace_period_seconds: 'int',
      cleanup_resources_timeout: 'duration',
      poll_interval: 'int',
      poll_timeout: 'int',
      resource_availability_check_max_attempts: 'int',
      retry_limit: 'int',
      retry_backoff_max: 'int',
      retry_limits: 'map<string,int>',
      pod_labels: 'map<string,string>',
      pod_labels_overwrite_allowed: 'string',
      scheduler_name: 'string',
      service_account: 'string',
      service_account_overwrite_allowed: 'string',
      automount_service_account_token: 'bool',
      pod_annotations: 'map<string,string>',
      pod_annotations_overwrite_allowed: 'string',
      cap_add: 'string[]',
      cap_drop: 'string[]',
      suspend_pvc_size: 'string',
      suspend_pvc_storage_class: 'string',
      dns_policy: 'string',
      priority_class_name: 'string',
      logs_base_dir: 'string',
      scripts_base_dir: 'string',
      print_pod_warning_events: 'bool',
      pod_disruption_budget: 'bool',
    }),
    pull_policy: pullPolicy(),
    affinity: table({
      node_affinity: table({
        required_during_scheduling_ignored_during_execution: table({
          node_selector_terms: tables({
            match_expressions: tables({
              ...fields({
                key: 'string',
                operator: 'string',
                values: 'string[]',
              }),
            }),
            match_fields: tables({
              ...fields({
                key: 'string',
                operator: 'string',
                values: 'string[]',
              }),
            }),
          }),
        }),
        preferred_during_scheduling_ignored_during_execution: tables({
          ...fields({
            weight: 'int',
          }),
          preference: table({
            match_expressions: tables({
              ...fields({
                key: 'string',
                operator: 'string',
                values: 'string[]',
              }),
            }),
            match_fields: tables({
              ...fields({
                key: 'string',
                operator: 'string',
                values: 'string[]',
              }),
            }),
          }),
        }),
      }),
      pod_affinity: table({
        required_during_scheduling_ignored_during_execution: tables({
          ...fields({
            namespaces: 'string[]',
            topology_key: 'string',
            match_label_keys: 'string[]',
            mismatch_label_keys: 'string[]',
          }),
          label_selector: table({
            ...fields({
              match_labels: 'map<string,string>',
            }),
            match_expressions: tables({
              ...fields({
                key: 'string',
                operator: 'string',
                values: 'string[]',
              }),
            }),
          }),
          namespace_selector: table({
            ...fields({
              match_labels: 'map<string,string>',
            }),
            match_expressions: tables({
              ...fields({
                key: 'string',
                operator: 'string',
                values: 'string[]',
              }),
            }),
          }),
        }),
        preferred_during_scheduling_ignored_during_execution: tables({
          ...fields({
            weight: 'int',
          }),
          pod_affinity_term: table({
            ...fields({
              namespaces: 'string[]',
              topology_key: 'string',
              match_label_keys: 'string[]',
              mismatch_label_keys: 'string[]',
            }),
            label_selector: table({
              ...fields({
                match_labels: 'map<string,string>',
              }),
              match_expressions: tables({
                ...fields({
                  key: 'string',
                  operator: 'string',
                  values: 'string[]',
                }),
              }),
            }),
            namespace_selector: table({
              ...fields({
                match_labels: 'map<string,string>',
              }),
              match_expressions: tables({
                ...fields({
                  key: 'string',
                  operator: 'string',
                  values: 'string[]',
                }),
              }),
            }),
          }),
        }),
      }),
      pod_anti_affinity: table({
        required_during_scheduling_ignored_during_execution: tables({
          ...fields({
            namespaces: 'string[]',
            topology_key: 'string',
            match_label_keys: 'string[]',
            mismatch_label_keys: 'string[]',
          }),
          label_selector: table({
            ...fields({
              match_labels: 'map<string,string>',
            }),
            match_expressions: tables({
              ...fields({
                key: 'string',
                operator: 'string',
                values: 'string[]',
              }),
            }),
          }),
          namespace_selector: table({
            ...fields({
              match_labels: 'map<string,string>',
            }),
            match_expressions: tables({
              ...fields({
                key: 'string',
                operator: 'string',
                values: 'string[]',
              }),
            }),
          }),
        }),
        preferred_during_scheduling_ignored_during_execution: tables({
          ...fields({
            weight: 'int',
          }),
          pod_affinity_term: table({
            ...fields({
              namespaces: 'string[]',
              topology_key: 'string',
              match_label_keys: 'string[]',
              mismatch_label_keys: 'string[]',
            }),
            label_selector: table({
              ...fields({
                match_labels: 'map<string,string>',
              }),
              match_expressions: tables({
                ...fields({
                  key: 'string',
                  operator: 'string',
                  values: 'string[]',
                }),
              }),
            }),
            namespace_selector: table({
              ...fields({
                match_labels: 'map<string,string>',
              }),
              match_expressions: tables({
                ...fields({
                  key: 'string',
                  operator: 'string',
                  values: 'string[]',
                }),
              }),
            }),
          }),
        }),
      }),
    }),
    pod_security_context: table({
      ...fields({
        fs_group: 'int',
        run_as_group: 'int',
        run_as_non_root: 'bool',
        run_as_user: 'int',
        supplemental_groups: 'int[]',
        selinux_type: 'string',
      }),
      seccomp_profile: table({
        ...fields({
          type: 'string',
          localhost_profile: 'string',
        }),
      }),
      app_armor_profile: table({
        ...fields({
          type: 'string',
          localhost_profile: 'string',
        }),
      }),
    }),
    init_permissions_container_security_context: table({
      ...fields({
        privileged: 'bool',
        run_as_user: 'int',
        run_as_group: 'int',
        run_as_non_root: 'bool',
        read_only_root_filesystem: 'bool',
        allow_privilege_escalation: 'bool',
        selinux_type: 'string',
        proc_mount: 'string',
      }),
      capabilities: table({
        ...fields({
          add: 'string[]',
          drop: 'string[]',
        }),
      }),
      seccomp_profile: table({
        ...fields({
          type: 'string',
          localhost_profile: 'string',
        }),
      }),
      app_armor_profile: table({
        ...fields({
          type: 'string',
          localhost_profile: 'string',
        }),
      }),
    }),
    build_container_security_context: table({
      ...fields({
        privileged: 'bool',
        run_as_user: 'int',
        run_as_group: 'int',
        run_as_non_root: 'bool',
        read_only_root_filesystem: 'bool',
        allow_privilege_escalation: 'bool',
        selinux_type: 'string',
        proc_mount: 'string',
      }),
      capabilities: table({
        ...fields({
          add: 'string[]',
          drop: 'string[]',
        }),
      }),
      seccomp_profile: table({
        ...fields({
          type: 'string',
          localhost_profile: 'string',
        }),
      }),
      app_armor_profile: table({
        ...fields({
          type: 'string',
          localhost_profile: 'string',
        }),
      }),
    }),
    helper_container_security_context: table({
      ...fields({
        privileged: 'bool',
        run_as_user: 'int',
        run_as_group: 'int',
        run_as_non_root: 'bool',
        read_only_root_filesystem: 'bool',
        allow_privilege_escalation: 'bool',
        selinux_type: 'string',
        proc_mount: 'string',
      }),
      capabilities: table({
        ...fields({
          add: 'string[]',
          drop: 'string[]',
        }),
      }),
      seccomp_profile: table({
        ...fields({
          type: 'string',
          localhost_profile: 'string',
        }),
      }),
      app_armor_profile: table({
        ...fields({
          type: 'string',
          localhost_profile: 'string',
        }),
      }),
    }),
    service_container_security_context: table({
      ...fields({
        privileged: 'bool',
        run_as_user: 'int',
        run_as_group: 'int',
        run_as_non_root: 'bool',
        read_only_root_filesystem: 'bool',
        allow_privilege_escalation: 'bool',
        selinux_type: 'string',
        proc_mount: 'string',
      }),
      capabilities: table({
        ...fields({
          add: 'string[]',
          drop: 'string[]',
        }),
      }),
      seccomp_profile: table({
        ...fields({
          type: 'string',
          localhost_profile: 'string',
        }),
      }),
      app_armor_profile: table({
        ...fields({
          type: 'string',
          localhost_profile: 'string',
        }),
      }),
    }),
    volumes: table({
      host_path: tables({
        ...fields({
          name: 'string',
          mount_path: 'string',
          sub_path: 'string',
          read_only: 'bool',
          host_path: 'string',
          mount_propagation: 'string',
        }),
      }),
      pvc: tables({
        ...fields({
          name: 'string',
          mount_path: 'string',
          sub_path: 'string',
          read_only: 'bool',
          mount_propagation: 'string',
        }),
      }),
      config_map: tables({
        ...fields({
          name: 'string',
          mount_path: 'string',
          sub_path: 'string',
          read_only: 'bool',
          items: 'map<string,string>',
        }),
      }),
      secret: tables({
        ...fields({
          name: 'string',
          mount_path: 'string',
          sub_path: 'string',
          read_only: 'bool',
          items: 'map<string,string>',
        }),
      }),
      empty_dir: tables({
        ...fields({
          name: 'string',
          mount_path: 'string',
          sub_path: 'string',
          medium: 'string',
          size_limit: 'string',
          mount_propagation: 'string',
        }),
      }),
      csi: tables({
        ...fields({
          name: 'string',
          mount_path: 'string',
          sub_path: 'string',
          driver: 'string',
          fs_type: 'string',
          read_only: 'bool',
          volume_attributes: 'map<string,string>',
        }),
      }),
      nfs: tables({
        ...fields({
          name: 'string',
          mount_path: 'string',
          sub_path: 'string',
          server: 'string',
          path: 'string',
          read_only: 'bool',
        }),
      }),
    }),
    host_aliases: tables({
      ...fields({
        ip: 'string',
        hostnames: 'string[]',
      }),
    }),
    services: tables({
      ...fields({
        name: 'string',
        alias: 'string',
        command: 'string[]',
        entrypoint: 'string[]',
        environment: 'string[]',
        suspend_data_path: 'string',
      }),
    }),
    dns_config: table({
      ...fields({
        nameservers: 'string[]',
        searches: 'string[]',
      }),
      options: tables({
        ...fields({
          name: 'string',
          value: 'string',
        }),
      }),
    }),
    container_lifecycle: table({
      post_start: table({
        exec: table({
          ...fields({
            command: 'string[]',
          }),
        }),
        http_get: table({
          ...fields({
            host: 'string',
            path: 'string',
            port: 'int',
            scheme: 'string',
          }),
          http_headers: tables({
            ...fields({
              name: 'string',
              value: 'string',
            }),
          }),
        }),
        tcp_socket: table({
          ...fields({
            host: 'string',
            port: 'int',
          }),
        }),
      }),
      pre_stop: table({
        exec: table({
          ...fields({
            command: 'string[]',
          }),
        }),
        http_get: table({
          ...fields({
            host: 'string',
            path: 'string',
            port: 'int',
            scheme: 'string',
          }),
          http_headers: tables({
            ...fields({
              name: 'string',
              value: 'string',
            }),
          }),
        }),
        tcp_socket: table({
          ...fields({
            host: 'string',
            port: 'int',
          }),
        }),
      }),
    }),
    pod_spec: tables({
      ...fields({
        name: 'string',
        patch_path: 'string',
        patch: 'string',
        patch_type: 'string',
      }),
    }),
    autoscaler: table({
      ...fields({
        max_pause_pods: 'int',
        pause_pod_image: 'string',
        pause_pod_priority_class_name: 'string',
        pause_pod_image_pull_secrets: 'string[]',
      }),
      policy: tables({
        ...fields({
          periods: 'string[]',
          timezone: 'string',
          idle_count: 'int',
          idle_time: 'duration',
          scale_factor: 'float',
          scale_factor_limit: 'int',
          preemptive_mode: 'bool',
        }),
      }),
    }),
  },
  {
    terminationGracePeriodSeconds: {
      status: 'removed',
      note: 'removed in GitLab Runner 17.0; use pod_termination_grace_period_seconds',
    },
  },
);
export type KubernetesConfig = z.output<typeof kubernetesSchema>;
