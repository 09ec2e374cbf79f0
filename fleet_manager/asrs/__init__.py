"""AS/RS: rack model, durable inventory, storage/retrieval policies, crane sequencing, controller."""
