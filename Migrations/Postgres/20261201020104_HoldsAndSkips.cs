using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace KeelPortal.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class HoldsAndSkips : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "VersionSkips",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    WorkloadId = table.Column<string>(type: "character varying(600)", maxLength: 600, nullable: false),
                    Version = table.Column<string>(type: "character varying(300)", maxLength: 300, nullable: false),
                    Reason = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: false),
                    SkippedBy = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: false),
                    SkippedAtUtc = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_VersionSkips", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "WorkloadHolds",
                columns: table => new
                {
                    WorkloadId = table.Column<string>(type: "character varying(600)", maxLength: 600, nullable: false),
                    Reason = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: false),
                    HeldBy = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: false),
                    HeldAtUtc = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    UntilUtc = table.Column<DateTime>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_WorkloadHolds", x => x.WorkloadId);
                });

            migrationBuilder.CreateIndex(
                name: "IX_VersionSkips_WorkloadId_Version",
                table: "VersionSkips",
                columns: new[] { "WorkloadId", "Version" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "VersionSkips");

            migrationBuilder.DropTable(
                name: "WorkloadHolds");
        }
    }
}
