using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace KeelPortal.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class Outbox : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "PortalEvents",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    Type = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    Payload = table.Column<string>(type: "text", nullable: false),
                    OccurredAtUtc = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    Work = table.Column<bool>(type: "boolean", nullable: false),
                    ClaimedBy = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    ClaimedUntilUtc = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    Attempts = table.Column<int>(type: "integer", nullable: false),
                    HandledAtUtc = table.Column<DateTime>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_PortalEvents", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_PortalEvents_OccurredAtUtc",
                table: "PortalEvents",
                column: "OccurredAtUtc");

            migrationBuilder.CreateIndex(
                name: "IX_PortalEvents_Work_HandledAtUtc",
                table: "PortalEvents",
                columns: new[] { "Work", "HandledAtUtc" });

            // Every replica LISTENs on this channel: a committed event wakes them at once (NOTIFY is sent at commit,
            // and nothing when the transaction rolls back).
            migrationBuilder.Sql("""
                CREATE FUNCTION keelportal_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    PERFORM pg_notify('keelportal_events', '');
                    RETURN NULL;
                END
                $$;
                CREATE TRIGGER keelportal_events_inserted AFTER INSERT ON "PortalEvents"
                    FOR EACH STATEMENT EXECUTE FUNCTION keelportal_events_notify();
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP TRIGGER IF EXISTS keelportal_events_inserted ON \"PortalEvents\"; DROP FUNCTION IF EXISTS keelportal_events_notify();");
            migrationBuilder.DropTable(
                name: "PortalEvents");
        }
    }
}
