"""Print the served schema: `python -m walletql.schema_print > schema.graphql`."""

from strawberry.printer import print_schema

from walletql.api import build_schema
from walletql.settings import Settings

if __name__ == "__main__":
    print(print_schema(build_schema(Settings())))
