using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace KeelPortal.Migrations
{
    /// <inheritdoc />
    public partial class Workloads : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "Rollouts",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    WorkloadId = table.Column<string>(type: "TEXT", maxLength: 600, nullable: false),
                    FromVersion = table.Column<string>(type: "TEXT", maxLength: 300, nullable: false),
                    ToVersion = table.Column<string>(type: "TEXT", maxLength: 300, nullable: false),
                    Generation = table.Column<long>(type: "INTEGER", nullable: false),
                    StartedAtUtc = table.Column<DateTime>(type: "TEXT", nullable: false),
                    FinishedAtUtc = table.Column<DateTime>(type: "TEXT", nullable: true),
                    State = table.Column<string>(type: "TEXT", maxLength: 20, nullable: false),
                    Reason = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Rollouts", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "Workloads",
                columns: table => new
                {
                    Id = table.Column<string>(type: "TEXT", maxLength: 600, nullable: false),
                    Kind = table.Column<string>(type: "TEXT", maxLength: 20, nullable: false),
                    Namespace = table.Column<string>(type: "TEXT", maxLength: 253, nullable: false),
                    Name = table.Column<string>(type: "TEXT", maxLength: 253, nullable: false),
                    Images = table.Column<string>(type: "TEXT", maxLength: 4000, nullable: false),
                    Policy = table.Column<string>(type: "TEXT", maxLength: 500, nullable: false),
                    Trigger = table.Column<string>(type: "TEXT", maxLength: 20, nullable: false),
                    PollSchedule = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    ApprovalsRequired = table.Column<int>(type: "INTEGER", nullable: false),
                    IsTracked = table.Column<bool>(type: "INTEGER", nullable: false),
                    Error = table.Column<string>(type: "TEXT", maxLength: 4000, nullable: true),
                    UpdatedAtUtc = table.Column<DateTime>(type: "TEXT", nullable: false),
                    SnapshotJson = table.Column<string>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Workloads", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_Rollouts_WorkloadId_StartedAtUtc",
                table: "Rollouts",
                columns: new[] { "WorkloadId", "StartedAtUtc" });

            migrationBuilder.CreateIndex(
                name: "IX_Workloads_IsTracked",
                table: "Workloads",
                column: "IsTracked");

            migrationBuilder.CreateIndex(
                name: "IX_Workloads_Namespace_Name",
                table: "Workloads",
                columns: new[] { "Namespace", "Name" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "Rollouts");

            migrationBuilder.DropTable(
                name: "Workloads");
        }
    }
}
