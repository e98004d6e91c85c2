"""The checks of the tf.data service settings (`data_service`, `data_service_sharding`), part of
`RunSettings.validate` (`saccader_tf.run.validate`)."""

from saccader_tf.data.service import split_address
from saccader_tf.run.settings_error import ARG, SettingsError

TRAINING_STAGES = ("1", "2", "3", "4", "all")
"""The stages that read training batches, the only ones the service serves."""


def check_data_service(settings, stage):
    """`data_service` is empty or `grpc://HOST:PORT`, and given only for a training stage;
    `data_service_sharding` other than `off` only with it."""
    address = settings.data_service
    if not address:
        if settings.data_service_sharding != "off":
            raise SettingsError(
                f"{ARG}data_service_sharding applies to {ARG}data_service: give the dispatcher "
                f"(grpc://HOST:PORT) or drop it. Received: "
                f"{ARG}data_service_sharding={settings.data_service_sharding}"
            )
        return
    if split_address(address) is None:
        raise SettingsError(
            f"{ARG}data_service must look like grpc://HOST:PORT (a tf.data service dispatcher, "
            f"e.g. grpc://localhost:5050). Received: {ARG}data_service={address}"
        )
    if stage not in TRAINING_STAGES:
        raise SettingsError(
            f"{ARG}data_service serves training batches; {ARG}stage={stage} trains nothing. "
            f"Drop {ARG}data_service. Received: {ARG}stage={stage}"
        )
